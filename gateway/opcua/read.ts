import { errorMessage } from '../util/errors.js';
import { NamespaceMissing, parseUriNodeId, resolveNodeId } from './node-id.js';
import { numericValue, OpcuaFault, type OpcuaModules, type OpcuaSession } from './session.js';

export type NumberOrFault = { value: number } | { fault: OpcuaFault };

/**
 * One Read request for the Value of each node (`nsu=<uri>;…`, resolved against this session's NamespaceArray), as
 * numbers: the shape a meter profile that names OPC UA nodes instead of registers needs (an energy counter read at
 * a quarter-hour boundary). Per node a value or the fault (`namespace_missing`, `node_missing`, `bad_status`,
 * `wrong_type`); throws OpcuaFault only when the request itself fails (session or connection gone).
 */
export async function readNumbers(m: OpcuaModules, s: OpcuaSession, nodeIds: readonly string[]): Promise<NumberOrFault[]> {
  return (await readTypedNumbers(m, s, nodeIds)).map((r) => ('fault' in r ? r : { value: r.value }));
}

/** readNumbers, each value with the variable's built-in DataType name as read (`Double`, `Float`, `UInt32`…): a counter's step depends on it. */
export async function readTypedNumbers(m: OpcuaModules, s: OpcuaSession, nodeIds: readonly string[]): Promise<Array<{ value: number; dataType: string } | { fault: OpcuaFault }>> {
  const out: Array<{ value: number; dataType: string } | { fault: OpcuaFault }> = new Array(nodeIds.length);
  const asked: Array<{ i: number; nodeId: string }> = [];
  nodeIds.forEach((text, i) => {
    try {
      asked.push({ i, nodeId: resolveNodeId(parseUriNodeId(text), s.namespaces) });
    } catch (error) {
      out[i] = { fault: new OpcuaFault(error instanceof NamespaceMissing ? 'namespace_missing' : 'node_missing', `${text}: ${errorMessage(error)}`) };
    }
  });
  if (asked.length) {
    let values;
    try {
      values = await s.session.read(asked.map((a) => ({ nodeId: a.nodeId, attributeId: m.client.AttributeIds.Value })));
    } catch (error) {
      throw error instanceof OpcuaFault ? error : new OpcuaFault('timeout', `read of ${asked.length} nodes failed: ${errorMessage(error)}`);
    }
    asked.forEach((a, k) => {
      const dv = values[k]!;
      try {
        out[a.i] = { value: numericValue(m, dv), dataType: String(m.client.DataType[dv.value?.dataType ?? 0] ?? 'Null') };
      } catch (error) {
        const fault = error instanceof OpcuaFault ? error : new OpcuaFault('bad_status', errorMessage(error));
        out[a.i] = { fault: /BadNodeIdUnknown/.test(fault.message) ? new OpcuaFault('node_missing', `${nodeIds[a.i]}: not on the server`) : new OpcuaFault(fault.code, `${nodeIds[a.i]}: ${fault.message}`) };
      }
    });
  }
  return out;
}
