import type { ServiceContext } from '../../provider.js'
export async function deploy(_c: ServiceContext): Promise<void> { throw new Error('todo') }
export async function remove(_c: ServiceContext): Promise<void> { throw new Error('todo') }
export async function info(_c: ServiceContext): Promise<void> { throw new Error('todo') }
export async function invoke(_c: ServiceContext): Promise<void> { throw new Error('todo') }
