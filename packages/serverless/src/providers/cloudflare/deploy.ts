import type { ServiceContext } from '../../provider.js'
export async function deploy(_context: ServiceContext): Promise<void> {}
export async function remove(_context: ServiceContext): Promise<void> {}
export async function info(_context: ServiceContext): Promise<void> {}
