import { Type, type Static } from '@sinclair/typebox';

/**
 * Config of the site's base load (`energy.siteLoad`, gateway/site-load) and of the live quarter-hour guard
 * (`energy.powerGuard`, plugins/power-guard). Issue #22; README "The site's base load" and "The quarter-hour guard".
 */
const DayProfile = (description: string) =>
  Type.Union([Type.Number({ minimum: 0 }), Type.Array(Type.Number({ minimum: 0 }), { minItems: 24, maxItems: 24 })], { description });

export const SiteLoadSchema = Type.Object(
  {
    profile: Type.Optional(
      Type.Object(
        {
          workday: DayProfile('kW of the loads the planner does not plan (cold rooms, air handling, compressors, lighting) on Monday-Friday: one number, or 24 values by local clock hour 00..23'),
          saturday: Type.Optional(DayProfile('kW on Saturdays (default: the workday profile)')),
          sunday: Type.Optional(DayProfile('kW on Sundays and national holidays (default: the Saturday profile)')),
          coolingKwPerDegC: Type.Number({ minimum: 0, default: 0, description: 'extra kW per °C of outdoor temperature above referenceC (cold rooms, air conditioning)' }),
          referenceC: Type.Number({ default: 18, description: 'outdoor °C above which the cooling term starts' }),
        },
        { additionalProperties: false, description: 'the base load until the site meter has taught the forecast (minDays of measured quarter-hours)' },
      ),
    ),
    meter: Type.Optional(Type.String({ description: 'the site meter to learn from (energy.meters[].name with role site; default: the first site meter)' })),
    learnDays: Type.Integer({ minimum: 7, maximum: 120, default: 28, description: 'local days of measured quarter-hours the forecast learns from' }),
    minDays: Type.Integer({ minimum: 1, maximum: 60, default: 7, description: 'below this many measured days the forecast is the configured profile' }),
  },
  { additionalProperties: false, default: {} },
);
export type SiteLoadConfig = Static<typeof SiteLoadSchema>;

export const InterruptibleLoadSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9_-]+$', description: 'e.g. cold-room-2' }),
    kw: Type.Number({ exclusiveMinimum: 0, description: 'power the load draws when on, kW (what switching it off saves)' }),
    transport: Type.Union([Type.Literal('tcp'), Type.Literal('rtu')], { default: 'tcp' }),
    host: Type.Optional(Type.String()),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
    path: Type.Optional(Type.String({ description: 'serial device for rtu' })),
    baudRate: Type.Integer({ default: 9600 }),
    unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    timeoutMs: Type.Integer({ minimum: 100, default: 2_000 }),
    coil: Type.Integer({ minimum: 0, maximum: 65535, description: 'coil address (0-based) that enables the load: written 0 to hold it off, 1 to release it' }),
    maxOffMinutes: Type.Integer({ minimum: 1, maximum: 15, default: 10, description: 'longest time the load may stay off in one hold (a cold room allowed a few minutes)' }),
    minOnMinutes: Type.Integer({ minimum: 0, maximum: 120, default: 15, description: 'after a hold, the load stays on at least this long before it may be held again' }),
  },
  { additionalProperties: false },
);

export const PowerGuardSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    meter: Type.Optional(Type.String({ description: 'the site meter (energy.meters[].name with role site; default: the first site meter)' })),
    marginKw: Type.Number({ minimum: 0, default: 10, description: 'act when the projected quarter-hour average would pass the period\'s contracted power minus this' }),
    checkEverySeconds: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'device seconds between two projections' }),
    staleAfterSeconds: Type.Integer({ minimum: 5, maximum: 600, default: 30, description: 'a site meter reading older than this makes the guard blind (health degraded); it then releases everything' }),
    deferRuns: Type.Boolean({ default: true, description: 'hold the start of a planned run that has not begun until the next quarter-hour, when its batch allows' }),
    interruptible: Type.Array(InterruptibleLoadSchema, { default: [], description: 'loads the guard may switch off through a Modbus coil until the next quarter-hour' }),
  },
  { additionalProperties: false, default: {} },
);
export type PowerGuardConfig = Static<typeof PowerGuardSchema>;
