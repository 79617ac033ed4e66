import sp from 'sparkplug-payload';
const p = (sp as any).get('spBv1.0');
const buf = p.encodePayload({ timestamp: Date.now(), seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }, { name: 'price', type: 'Double', value: 12.5 }, { name: 'cmd', type: 'String', value: 'run' }] });
console.log(buf.length, JSON.stringify(p.decodePayload(buf)));
