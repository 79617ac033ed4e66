import { reePlugin } from '../../plugins/ree/index.js';
import { daySourceContract } from '../helpers/day-source-contract.js';
import { fixture } from '../helpers/fixture-server.js';

daySourceContract({
  factory: reePlugin,
  now: '2021-10-31T10:00:00Z',
  day: '2021-10-31',
  series: 'pvpc',
  slots: 25,
  pathPrefix: '/es/datos',
  malformed: { body: fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json').slice(0, 3000) },
});
