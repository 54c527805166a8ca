import type { V2Route } from '../../oci/v2-path.js';
import { type MethodTable, methodTable, type V2Context, type V2Handler } from './resource.js';

type BaseRoute = Extract<V2Route, { kind: 'base' }>;

/** `GET /v2/`: the API is here, for any authenticated caller (clients probe it to learn how to log in). */
export function baseMethods({ gate, features }: V2Context): MethodTable<BaseRoute> {
  const check: V2Handler<BaseRoute> = async ({ request, reply }) => {
    await gate.requireLogin(request);
    return reply.header('Content-Type', 'application/json').send('{}');
  };
  return methodTable(features, {
    GET: { kind: 'read', handle: check },
    HEAD: { kind: 'read', handle: check },
  });
}
