import type { ServiceContext } from '../../provider.js'
import type { GoogleEvent } from './mapping.js'
export async function offlineCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
export async function invokeLocalCommand(_c: ServiceContext<GoogleEvent>): Promise<void> {}
