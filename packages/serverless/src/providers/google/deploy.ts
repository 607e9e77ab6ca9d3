import type { ServiceContext } from '../../provider.js'
import type { GoogleEvent } from './mapping.js'
export async function deployCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
export async function removeCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
export async function infoCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
export async function invokeCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
