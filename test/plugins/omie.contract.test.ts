import { omiePlugin } from '../../plugins/omie/index.js';
import { daySourceContract } from '../helpers/day-source-contract.js';
import { fixture } from '../helpers/fixture-server.js';

daySourceContract({
  factory: omiePlugin,
  now: '2025-10-26T09:00:00Z',
  day: '2025-10-26',
  series: 'omie_es',
  slots: 100,
  pathPrefix: '/es/file-download',
  malformed: { headers: { 'content-type': 'application/octet-stream' }, body: fixture('omie/marginalpdbc_20251026.1').slice(0, 800) },
});

daySourceContract({
  factory: omiePlugin,
  now: '2025-03-30T09:00:00Z',
  day: '2025-03-30',
  series: 'omie_es',
  slots: 23,
  pathPrefix: '/es/file-download',
  malformed: { headers: { 'content-type': 'text/html' }, body: '<html><body>Mantenimiento</body></html>' },
});
