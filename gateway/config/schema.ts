import { Type, type Static } from '@sinclair/typebox';
import { ContractSchema } from './contract-schema.js';
import { MeterKeepDaysSchema, MeterProfilesSchema, MetersSchema } from './meters-schema.js';
import { PowerGuardSchema, SiteLoadSchema } from './site-load-schema.js';
import { OpcuaSection } from './opcua-schema.js';

/** A secret is given inline, or as `{ file: path }` (systemd LoadCredential); it is never logged. */
export const Secret = Type.Union([Type.String({ minLength: 1 }), Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false })], {
  secret: true,
});

/** A file the gateway reads at start (PEM certificate, key, CA bundle): check-config checks it is there and readable. */
const FilePath = (description?: string) => Type.String({ minLength: 1, readableFile: true, ...(description ? { description } : {}) });

const Cron = (defaultValue: string, description: string) =>
  Type.String({ default: defaultValue, description, pattern: '^\\S+(\\s+\\S+){4,5}$', cron: true });

const Job = (cron: string, description: string) =>
  Type.Object({ enabled: Type.Boolean({ default: true }), cron: Cron(cron, description) }, { additionalProperties: false, default: {} });

const Retry = Type.Object(
  {
    timeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    retries: Type.Integer({ minimum: 0, maximum: 10, default: 3 }),
    backoffMs: Type.Integer({ minimum: 0, default: 2_000 }),
    maxBackoffMs: Type.Integer({ minimum: 0, default: 60_000 }),
  },
  { additionalProperties: false, default: {} },
);

const HHMM = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' });

const SourceCommon = {
  enabled: Type.Boolean({ default: true }),
  /** Local Madrid time after which the next day's prices may exist. */
  publishAfter: HHMM,
  /** Source health turns stale when its last success is older than this. */
  staleAfterMinutes: Type.Integer({ minimum: 1, default: 26 * 60 }),
  /** Minimum pause between two requests during backfill. */
  backfillIntervalMs: Type.Integer({ minimum: 0, default: 2_000 }),
};

const ModbusPoint = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$', description: 'becomes series sensor.<name> and topic sensors/<name>' }),
    register: Type.Union([Type.Literal('holding'), Type.Literal('input')], { default: 'holding', description: 'function code 3 (holding) or 4 (input)' }),
    address: Type.Integer({ minimum: 0, maximum: 65535 }),
    type: Type.Union([Type.Literal('int16'), Type.Literal('uint16'), Type.Literal('int32'), Type.Literal('uint32'), Type.Literal('float32')], { default: 'int16' }),
    byteOrder: Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big', description: 'byte order inside each 16-bit register' }),
    wordOrder: Type.Union([Type.Literal('big'), Type.Literal('little')], { default: 'big', description: 'for 32-bit types: big = high word first' }),
    scale: Type.Number({ default: 1 }),
    offset: Type.Number({ default: 0 }),
    unit: Type.Union([Type.Literal('degC'), Type.Literal('percent'), Type.Literal('kW'), Type.Literal('kWh'), Type.Literal('hPa')], { default: 'degC' }),
    deadband: Type.Number({ minimum: 0, default: 0, description: 'report by exception: publish when the value moved more than this (absolute, in the point unit) since the last report; 0 with deadbandPercent 0 = any change' }),
    deadbandPercent: Type.Number({ minimum: 0, default: 0, description: 'report by exception: publish when the value moved more than this percent of the last reported value' }),
    maxSilenceMs: Type.Integer({ minimum: 0, default: 60_000, description: 'publish at least this often even without a change (0 = only on change)' }),
  },
  { additionalProperties: false },
);

const PlannerProcess = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9_-]+$' }),
    kw: Type.Number({ exclusiveMinimum: 0 }),
    minutes: Type.Integer({ minimum: 15 }),
    batchesPerDay: Type.Integer({ minimum: 0, maximum: 24 }),
    uninterrupted: Type.Boolean({ default: true }),
    minGapMinutes: Type.Integer({ minimum: 0, default: 0 }),
    maxPlantTempC: Type.Optional(Type.Number()),
    line: Type.String({ pattern: '^[a-z0-9_-]+$' }),
    maxWaitMinutes: Type.Integer({ minimum: 0, maximum: 10_080, default: 240, description: 'holding limit: longest a batch may wait for this process after its previous step (planner.order) ended; ignored for the first step. Runs start on the plan\'s slots (60 min on hourly prices, 15 min on quarter-hour ones), so a wait is whole slots: the plan allows the longest whole-slot wait within the limit, never more (20 on hourly slots: no wait at all; check-config warns), and reports the limit as given (max_wait_min). Default 4 h, a plant-engineering guess (domain.md gives none)' }),
    holdKw: Type.Number({ minimum: 0, default: 4, description: 'kW a holding tank draws per batch waiting for this process (kept warm and stirred); counted in the plan cost. Default 4 kW, a guess: jacket losses plus agitator' }),
  },
  { additionalProperties: false },
);

const Window = Type.Object(
  {
    weekdays: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { default: [0, 1, 2, 3, 4, 5, 6], description: '0 = Sunday' }),
    from: HHMM,
    to: Type.String({ pattern: '^([01]\\d|2[0-4]):[0-5]\\d$' }),
  },
  { additionalProperties: false },
);

const ModbusDevice = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,40}$' }),
    transport: Type.Union([Type.Literal('tcp'), Type.Literal('rtu')], { default: 'tcp' }),
    host: Type.Optional(Type.String()),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
    path: Type.Optional(Type.String({ description: 'serial device for RTU, e.g. /dev/ttyUSB0' })),
    baudRate: Type.Integer({ default: 9600 }),
    unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    timeoutMs: Type.Integer({ minimum: 50, default: 1000 }),
    pollMs: Type.Integer({ minimum: 100, default: 10_000, description: 'fixed-rate poll period, in real (device) time' }),
    maxBackoffMs: Type.Integer({ minimum: 100, default: 30_000 }),
    maxGapRegisters: Type.Integer({ minimum: 0, maximum: 123, default: 16, description: 'registers of a gap read along to join two points into one request (at most 125 registers per request)' }),
    publish: Type.Union([Type.Literal('device'), Type.Literal('point')], { default: 'point', description: 'MQTT: one retained message per device per cycle with a changed point (devices/<device>/sensors), or one per changed point (sensors/<point>)' }),
    points: Type.Array(ModbusPoint, { minItems: 1 }),
  },
  { additionalProperties: false },
);

/** Connection admission on one listening port (gateway/util/connection-gate.ts). */
const portLimits = (maxConnections: number) => ({
  maxConnections: Type.Integer({ minimum: 1, default: maxConnections, description: 'open connections on the port, all addresses together' }),
  maxConnectionsPerAddress: Type.Integer({ minimum: 1, default: 64, description: 'open connections from one remote address' }),
  connectBurstPerAddress: Type.Integer({ minimum: 1, default: 100, description: 'new connections one address may open at once' }),
  connectsPerSecondPerAddress: Type.Number({ exclusiveMinimum: 0, default: 20, description: 'refill of that burst, per second' }),
});

const HttpLimits = Type.Object(
  {
    ...portLimits(256),
    headersTimeoutMs: Type.Integer({ minimum: 1000, default: 10_000, description: 'time to send the request line and headers' }),
    requestTimeoutMs: Type.Integer({ minimum: 1000, default: 30_000, description: 'time to send the whole request, body included' }),
    idleTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'a connection with no byte either way this long is closed (the event stream pings every 15 s)' }),
    keepAliveTimeoutMs: Type.Integer({ minimum: 100, default: 5_000, description: 'an idle keep-alive connection between requests' }),
  },
  { additionalProperties: false, default: {} },
);

const MqttLimits = Type.Object(
  {
    ...portLimits(512),
    connectTimeoutMs: Type.Integer({ minimum: 1000, default: 10_000, description: 'time from the TCP/WebSocket connection to a complete CONNECT' }),
    idleTimeoutMs: Type.Integer({ minimum: 1000, default: 300_000, description: 'a connection with no byte either way this long is closed (keep-alive pings count)' }),
    maxConnectPacketBytes: Type.Integer({ minimum: 256, default: 65_536, description: 'largest packet before the login is accepted (CONNECT with its will message)' }),
    maxPacketBytes: Type.Integer({ minimum: 1024, default: 262_144, description: 'largest packet from a logged-in admin or viewer' }),
    maxLinePacketBytes: Type.Integer({ minimum: 256, default: 16_384, description: 'largest packet from a line controller (its acknowledgements are ~100 bytes)' }),
    failedLoginsPerAddress: Type.Integer({ minimum: 1, default: 5, description: 'failed logins from one address within failedLoginWindowMs before its logins are refused unchecked' }),
    failedLoginWindowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    maxPendingLogins: Type.Integer({ minimum: 1, default: 16, description: 'password checks waiting (they run one at a time off the event loop); more are answered "server unavailable"' }),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ default: './data', description: 'LevelDB store and state' }),
    site: Type.Object(
      {
        id: Type.String({ default: 'linares', pattern: '^[a-z0-9_-]+$' }),
        name: Type.String({ default: 'Chocolate factory, Linares (Jaén)' }),
        names: Type.Optional(
          Type.Object(
            { es: Type.Optional(Type.String({ minLength: 1 })), en: Type.Optional(Type.String({ minLength: 1 })) },
            { additionalProperties: false, description: 'the site name as the status page shows it in each language; a language left out shows `name`' },
          ),
        ),
        timezone: Type.String({ default: 'Europe/Madrid' }),
      },
      { additionalProperties: false, default: {} },
    ),
    clock: Type.Object(
      {
        verify: Type.Boolean({
          default: true,
          description:
            'trust the wall clock only once it is known good (NTP status, or the Date of a server the gateway talks to; never before this release): until then nothing is planned and no price or reading is stored. false takes it as it is (a box with a battery-backed clock kept right by other means); steps are still found and schedules re-armed',
        }),
        serverToleranceS: Type.Integer({ minimum: 5, maximum: 3600, default: 120, description: "how far a server's Date may be from the wall clock and still confirm it" }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union([Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('fatal'), Type.Literal('silent')], { default: 'info' }),
        modules: Type.Record(Type.String(), Type.String(), { default: {}, description: 'per-module level, e.g. { mqtt: debug }' }),
        pretty: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto' }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        host: Type.String({ default: '127.0.0.1', description: 'bind address: this box only by default; the plant-network address (or 0.0.0.0) to serve the status page there' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        token: Type.Optional(Secret),
        tls: Type.Optional(Type.Object({ cert: FilePath(), key: FilePath() }, { additionalProperties: false, description: 'serve HTTPS with these PEM files' })),
        bodyLimitBytes: Type.Integer({ minimum: 1024, default: 65_536 }),
        limits: HttpLimits,
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        base: Type.String({ default: 'choco-edge', pattern: '^[A-Za-z0-9_/-]+$' }),
        embedded: Type.Object(
          {
            enabled: Type.Boolean({ default: true }),
            host: Type.String({ default: '0.0.0.0' }),
            port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
            wsPort: Type.Integer({ minimum: 0, maximum: 65535, default: 9001, description: 'MQTT over WebSocket; 0 picks a free port' }),
            allowAnonymous: Type.Boolean({ default: false, description: 'let clients in without a username (full access); off by default' }),
            users: Type.Array(
              Type.Object(
                {
                  username: Type.String({ minLength: 1 }),
                  passwordHash: Type.String({ pattern: '^scrypt:', description: 'from `choco-edge hash-password`' }),
                  role: Type.Union([Type.Literal('admin'), Type.Literal('viewer'), Type.Literal('line')]),
                  lines: Type.Optional(Type.Array(Type.String())),
                  clientIdPattern: Type.Optional(Type.String({ minLength: 1, description: 'regular expression the whole client id must match, e.g. conching-plc-[0-9]+' })),
                },
                { additionalProperties: false },
              ),
              { default: [] },
            ),
            tls: Type.Optional(Type.Object({ port: Type.Integer({ minimum: 0, maximum: 65535, default: 8883 }), cert: FilePath(), key: FilePath() }, { additionalProperties: false })),
            limits: MqttLimits,
          },
          { additionalProperties: false, default: {} },
        ),
        external: Type.Object(
          {
            url: Type.Optional(Type.String({ pattern: '^(mqtt|mqtts|ws|wss|tcp|tls)://' })),
            username: Type.Optional(Type.String()),
            password: Type.Optional(Secret),
            ca: Type.Optional(FilePath('path to a CA bundle')),
            cert: Type.Optional(FilePath()),
            key: Type.Optional(FilePath()),
            rejectUnauthorized: Type.Boolean({ default: true }),
          },
          { additionalProperties: false, default: {} },
        ),
        clientId: Type.String({ default: 'choco-edge-gateway' }),
        reconnectMs: Type.Integer({ minimum: 100, default: 2_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Object(
      {
        sync: Type.Boolean({ default: true, description: 'fsync every batch (survives power cuts)' }),
        readings: Type.Object(
          {
            commitMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'group commit: raw Modbus readings wait in memory and are written (fsynced) in one batch this often; a crash loses at most this window' }),
            rawHours: Type.Integer({ minimum: 1, default: 48, description: 'raw readings kept this long, then folded into aggregates' }),
            aggregateMinutes: Type.Union([Type.Literal(1), Type.Literal(15)], { default: 15, description: 'aggregate slot length: min/mean/max per minute or per quarter-hour' }),
          },
          { additionalProperties: false, default: {} },
        ),
        retention: Type.Object(
          {
            rawDays: Type.Integer({ minimum: 1, default: 35 }),
            keepDays: Type.Integer({ minimum: 0, default: 0 }),
          },
          { additionalProperties: false, default: {} },
        ),
        backups: Type.Object(
          {
            dir: Type.Optional(Type.String({ minLength: 1, description: 'where the scheduled backup job writes (default <dataDir>/backups); another disk is better' })),
            keep: Type.Integer({ minimum: 1, maximum: 1000, default: 7, description: 'the newest backups kept; older ones the job wrote are deleted' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    scheduler: Type.Object(
      {
        timezone: Type.String({ default: 'Europe/Madrid' }),
        jobs: Type.Object(
          {
            priceIngestion: Job('*/15 * * * *', 'poll today and D+1 prices until complete'),
            weatherIngestion: Job('5 * * * *', 'weather (lands with the weather issue)'),
            predictions: Job('*/30 * * * *', 'model inference (lands with the models issue)'),
            planning: Job('*/30 * * * *', 'production planning (lands with the planner issue)'),
            health: Job('*/15 * * * *', 'health check and MQTT health publish'),
            backfill: Job('0 1 * * *', 'fill gaps in price history, day by day'),
            tokenCheck: Job('0 3 * * *', 'validate API tokens'),
            cleanup: Job('0 3 * * 0', 'retention and downsampling (03:00 local: outside the hour daylight saving time skips or repeats)'),
            recalibration: Job('30 14 * * *', 'recalibrate the price forecaster on the store’s own history after D+1 prices are published; the new calibration replaces the active one only if not worse on the last weeks'),
            retraining: Type.Object(
              { enabled: Type.Boolean({ default: false }), cron: Cron('0 4 * * 1', 'retrain the price forecaster on the gateway’s own history; promote only if better') },
              { additionalProperties: false, default: {} },
            ),
            backup: Type.Object(
              { enabled: Type.Boolean({ default: false }), cron: Cron('30 3 * * *', 'back the store and the config file up to store.backups.dir, keeping store.backups.keep') },
              { additionalProperties: false, default: {} },
            ),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    fetch: Retry,
    sources: Type.Object(
      {
        ree: Type.Object(
          {
            ...SourceCommon,
            publishAfter: { ...HHMM, default: '20:15' },
            baseUrl: Type.String({ default: 'https://apidatos.ree.es' }),
            lang: Type.Union([Type.Literal('es'), Type.Literal('en')], { default: 'es' }),
            backfillDays: Type.Integer({ minimum: 0, maximum: 366, default: 7 }),
          },
          { additionalProperties: false, default: {} },
        ),
        esios: Type.Object(
          {
            ...SourceCommon,
            enabled: Type.Boolean({ default: false, description: 'needs a personal token' }),
            publishAfter: { ...HHMM, default: '20:15' },
            baseUrl: Type.String({ default: 'https://api.esios.ree.es' }),
            token: Type.Optional(Secret),
            indicators: Type.Array(Type.Integer(), { default: [1001, 600, 1739] }),
            drivers: Type.Boolean({ default: true, description: 'also fetch the D+1 demand/wind/PV forecasts (1775/1777/1779) for the price model' }),
            driversPublishAfter: { ...HHMM, default: '11:30' },
            backfillDays: Type.Integer({ minimum: 0, maximum: 366, default: 7 }),
          },
          { additionalProperties: false, default: {} },
        ),
        omie: Type.Object(
          {
            ...SourceCommon,
            publishAfter: { ...HHMM, default: '13:00' },
            baseUrl: Type.String({ default: 'https://www.omie.es' }),
            pathTemplate: Type.String({ default: '/es/file-download?parents=marginalpdbc&filename=marginalpdbc_{yyyymmdd}.1' }),
            backfillDays: Type.Integer({ minimum: 0, maximum: 366, default: 7 }),
          },
          { additionalProperties: false, default: {} },
        ),
        aemet: Type.Object(
          {
            enabled: Type.Boolean({ default: false, description: 'needs a free AEMET OpenData key' }),
            baseUrl: Type.String({ default: 'https://opendata.aemet.es/opendata/api' }),
            apiKey: Type.Optional(Secret),
            stations: Type.Array(Type.String({ pattern: '^[0-9A-Z]+$' }), { default: ['5279X', '5298X'], minItems: 1, description: 'first is primary, the rest are backups' }),
            municipality: Type.String({ default: '23055', pattern: '^\\d{5}$' }),
            staleAfterMinutes: Type.Integer({ minimum: 1, default: 180 }),
          },
          { additionalProperties: false, default: {} },
        ),
        openweathermap: Type.Object(
          {
            enabled: Type.Boolean({ default: false, description: 'needs an OpenWeatherMap key' }),
            baseUrl: Type.String({ default: 'https://api.openweathermap.org' }),
            apiKey: Type.Optional(Secret),
            lat: Type.Number({ minimum: -90, maximum: 90, default: 38.151107 }),
            lon: Type.Number({ minimum: -180, maximum: 180, default: -3.629453 }),
            staleAfterMinutes: Type.Integer({ minimum: 1, default: 180 }),
          },
          { additionalProperties: false, default: {} },
        ),
        replay: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            file: Type.String({ default: 'plugins/replay/sample/omie_es_2018.csv.gz', description: 'datetime_utc,<price> rows, plain or .csv.gz' }),
            series: Type.String({ default: 'omie_es' }),
            weatherFile: Type.String({ default: 'plugins/replay/sample/weather_seville_2018.csv.gz', description: 'Kaggle weather_features format, plain or .csv.gz; empty to replay no weather' }),
            publishAfter: { ...HHMM, default: '13:00' },
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    weather: Type.Object(
      {
        priority: Type.Array(Type.String(), { default: ['aemet', 'openweathermap', 'replay'], description: 'most trusted source first; decides between equally fresh values' }),
        maxObservationAgeMinutes: Type.Integer({ minimum: 1, default: 120 }),
        maxForecastAgeMinutes: Type.Integer({ minimum: 1, default: 720 }),
        freshnessToleranceMinutes: Type.Integer({ minimum: 0, default: 30 }),
        staleAfterMinutes: Type.Integer({ minimum: 1, default: 180, description: 'with every weather source down this long, health fails' }),
      },
      { additionalProperties: false, default: {} },
    ),
    planner: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        horizonHours: Type.Integer({ minimum: 6, maximum: 48, default: 48 }),
        timeLimitMs: Type.Integer({ minimum: 0, default: 5_000, description: 'MILP time limit; 0 uses the greedy planner' }),
        contractedKw: Type.Number({ exclusiveMinimum: 0, default: 150 }),
        tariff: Type.Union([Type.Literal('2.0TD'), Type.Literal('3.0TD')], { default: '3.0TD' }),
        adders: Type.Record(Type.String(), Type.Number(), { default: {}, description: 'override the tariff adders, €/kWh per period' }),
        processes: Type.Array(PlannerProcess, {
          default: [
            { name: 'mixing', kw: 30, minutes: 60, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'mixing' },
            { name: 'refining', kw: 42, minutes: 240, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'refining' },
            { name: 'conching', kw: 48, minutes: 300, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: 'conching' },
            { name: 'tempering', kw: 36, minutes: 120, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, maxPlantTempC: 24, line: 'tempering' },
          ],
        }),
        order: Type.Array(Type.String(), { default: ['mixing', 'refining', 'conching', 'tempering'] }),
        productionWindows: Type.Array(Window, { default: [{ weekdays: [0, 1, 2, 3, 4, 5, 6], from: '00:00', to: '24:00' }], description: 'when production may run' }),
        forbidden: Type.Array(Window, { default: [] }),
        baselineShift: { ...Window, default: { weekdays: [0, 1, 2, 3, 4, 5, 6], from: '06:00', to: '24:00' } },
        coolingKwPerDegree: Type.Number({ minimum: 0, default: 2 }),
        coolingFromC: Type.Number({ default: 24 }),
        haltAtOutdoorC: Type.Number({ default: 35 }),
        plantTemp: Type.Object({ baseC: Type.Number({ default: 21 }), factor: Type.Number({ default: 0.25 }) }, { additionalProperties: false, default: {} }),
        replanThresholdEur: Type.Number({ minimum: 0, default: 2, description: 'keep the current plan unless the new one saves more than this' }),
        frozenMinutes: Type.Integer({ minimum: 0, maximum: 1440, default: 120, description: 'frozen window: runs of the plan in force that start within this many minutes are kept and nothing new starts in it; released only by a line stop/resume, an operator change (plan apply) or the quarter-hour guard (README "Stability rules")' }),
        weatherErrorDecay: Type.Number({ minimum: 0, maximum: 1, default: 0.8, description: 'the error the temperature forecast made at the last observed hour is carried into the coming hours, × this per hour (gateway/weather/error-correction.ts): the lag-1 autocorrelation of the hourly forecast error; 0.8 is the hourly AR(1) coefficient of the day-ahead error model of issue #23 (simulate --weather-forecast noisy), not estimated from this box' }),
        ambientRisk: Type.Object({ z: Type.Number({ minimum: 0, maximum: 4, default: 0, description: 'standard-normal quantile of the chance constraint on the ambient limits: the halt, maxPlantTempC and the cooling in the contracted-power cap are checked at the temperature forecast + z × σ(lead), the cost at the forecast (gateway/planner/ambient-margin.ts); 0.84 ≈ each forecast slot within its limit with 80 % probability; default 0 (the point forecast): on 2023-2024 in simulate every z > 0 kept less of the hindsight saving than it saved in halted days (README "Ambient limits with a margin")' }), sigmaC: Type.Number({ minimum: 0, maximum: 10, default: 1.2, description: 'spread (°C) of the temperature forecast\'s day-ahead error used while this box has not measured its own (sigmaFrom): 1.2 is the spread issue #23 cites (a public archive of Madrid day-ahead forecasts); σ(lead) = σ × √(1 − weatherErrorDecay^(2 × hours after the last observation))' }), sigmaFrom: Type.Union([Type.Literal('measured'), Type.Literal('config')], { default: 'measured', description: 'where σ comes from: measured (default) = the RMS error of the day-ahead temperature forecast kept as issued 20-28 h ahead (fc.combined.temp.issued24h) against the observations over the last 28 days (gateway/weather/forecast-skill.ts), once 14 days have both, else sigmaC; config = always sigmaC. The plan document says which (ambient_margin.sigma_from)' }),  stakeEur: Type.Number({ minimum: 0, maximum: 1_000_000, default: 7.5, description: "the ambient risk priced (gateway/planner/ambient-risk.ts): the € the solvers weigh against each run's chance of meeting an ambient limit the forecast did not show (stakeEur × P, P from the Gaussian error of σ(lead)), added to the run's cost when they choose and never to a reported cost; 0: not priced. Default 7.5: chosen on Apr-Jul 2023 and 2024 in simulate (a day that meets a limit loses its saving there), where it kept more of the hindsight saving than 0, 5, 10 or 30 in the plan fixed at 10:00 D-1 and the plan the gateway runs (README 'The ambient risk priced'); a plant that values a halted batch more sets its own figure (higher: more cautious, less saving in warm cheap hours)" }), forcedMoveRule: Type.Union([Type.Literal('limit'), Type.Literal('priced'), Type.Literal('saving')], { default: 'priced', description: "when a re-plan finds the plan in force crossing an ambient limit on the corrected temperature forecast, whether it moves those batches by force (beyond planner.maxMovesPerDay), gateway/planner/forced-move.ts, the same rule in simulate's intraday replay: 'limit' moves whenever the point forecast crosses a limit; 'priced' moves only when the expected loss from staying (forcedMoveStakeEur × P(the run meets its limit) under σ(lead), net of the moved plan's) exceeds what the move costs (the price difference + planner.replanThresholdEur), else the batches stay and the plan says so; 'saving' as 'priced' with the plan's saving against the fixed shift (what a halted plan falls back to) × the largest run's P in place of the per-run stake; a limit certainly met (observed, σ(lead) 0) or any other broken constraint still forces the move. Default 'priced' with the 7.5 € stake: on Apr-Jul 2023 and 2024 in simulate (seeds 1-3) it kept 91.7 % / 94.4 % of the hindsight saving in the plan the gateway runs against 90.0 % / 94.0 % under 'limit', whose forced moves rescued no halted day; 15 €, 30 € and 'saving' lay between (README 'The forced-move rule priced')" }), forcedMoveStakeEur: Type.Number({ minimum: 0, maximum: 1_000_000, default: 0, description: "€ a run that meets an ambient limit loses, for forcedMoveRule 'priced'; 0: stakeEur" }) }, { additionalProperties: false, default: {} }),
        maxMovesPerDay: Type.Integer({ minimum: 0, default: 2, description: 'batch moves per local day a re-plan may make for a lower cost; moves the plant forces are kept and counted but never refused' }),
        priceSpikeEurMwh: Type.Number({ default: 200, description: 'a price at or above this in the horizon raises PRICE_SPIKE' }),
      },
      { additionalProperties: false, default: {} },
    ),
    energy: Type.Object(
      {
        contract: Type.Optional(ContractSchema),
        meters: MetersSchema,
        meterProfiles: MeterProfilesSchema,
        meterKeepDays: MeterKeepDaysSchema,
        siteLoad: SiteLoadSchema,
        powerGuard: PowerGuardSchema,
      },
      { additionalProperties: false, default: {}, description: 'the electricity supply contract the bill is priced with (README "The contract")' },
    ),
    lines: Type.Array(
      Type.Object(
        {
          line: Type.String({ pattern: '^[a-z0-9_-]+$', description: 'a planner line (planner.processes[].line)' }),
          transport: Type.Union([Type.Literal('tcp'), Type.Literal('rtu')], { default: 'tcp' }),
          host: Type.Optional(Type.String()),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 502 }),
          path: Type.Optional(Type.String()),
          baudRate: Type.Integer({ default: 9600 }),
          unitId: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
          timeoutMs: Type.Integer({ minimum: 50, default: 1000 }),
          watchdogMs: Type.Integer({ minimum: 100, default: 10_000, description: 'rewrite period: a PLC that sees the heartbeat stop falls back safely' }),
          dryRun: Type.Optional(Type.Boolean({ description: 'commissioning this line while the others run: write nothing to it (as outputs.dryRun, for this line only); switch it off at run time with POST /api/outputs/dry-run {line}' })),
          maxBackoffMs: Type.Integer({ minimum: 100, default: 30_000 }),
          registers: Type.Object(
            {
              command: Type.Integer({ minimum: 0, maximum: 65535, description: 'uint16: 0 idle, 1 run, 2 halt' }),
              powerSetpoint: Type.Integer({ minimum: 0, maximum: 65535, description: 'uint16: kW × 10' }),
              validUntil: Type.Integer({ minimum: 0, maximum: 65534, description: 'uint32 (2 registers, high word first): Unix seconds' }),
              heartbeat: Type.Integer({ minimum: 0, maximum: 65535, description: 'uint16 counter, +1 per write' }),
              batch: Type.Optional(Type.Integer({ minimum: 0, maximum: 65534, description: 'uint32 (2 registers, high word first): the plant-unique id of the batch the line runs now, 0 when none' })),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    outputs: Type.Object(
      {
        dryRun: Type.Boolean({
          default: false,
          description:
            'commissioning: plan and show every line command and setpoint the gateway would send (Modbus registers, MQTT lines/<line>/command, Sparkplug line metrics), write none; switch off at run time with POST /api/outputs/dry-run (bearer token). A restart goes back to this value.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    uplink: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        url: Type.Optional(Type.String({ pattern: '^(mqtt|mqtts|ws|wss)://', description: 'the central broker (Mosquitto, EMQX, HiveMQ)' })),
        username: Type.Optional(Type.String()),
        password: Type.Optional(Secret),
        ca: Type.Optional(FilePath()),
        prefix: Type.Optional(Type.String({ description: 'site prefix upstream; default plants/<site.id>' })),
        topics: Type.Array(Type.String(), { default: ['prices/#', 'plan', 'lines/+/command', 'alerts', 'bridge/state', 'bridge/health', 'weather/current', 'recommendation/current', 'models/status'] }),
        maxMessages: Type.Integer({ minimum: 100, default: 100_000, description: 'outbox bound; the oldest are dropped first' }),
        maxAgeHours: Type.Number({ exclusiveMinimum: 0, default: 72 }),
        reconnectMs: Type.Integer({ minimum: 100, default: 5_000 }),
        keepaliveS: Type.Integer({ minimum: 1, maximum: 3600, default: 15, description: 'MQTT keepalive to the central broker, seconds: a link that answers nothing (not even a ping) for 1.5 × this is reported dead and reconnected' }),
        commandSecret: Type.Optional(Secret),
        commandWindowS: Type.Integer({ minimum: 1, maximum: 3600, default: 300, description: "a signed command's timestamp may be this far from the gateway's clock, either way; its transaction id is remembered that long" }),
      },
      { additionalProperties: false, default: {} },
    ),
    ui: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        language: Type.Union([Type.Literal('es'), Type.Literal('en')], { default: 'es' }),
        priceGreenBelowEurKwh: Type.Number({ default: 0.15 }),
        priceRedAboveEurKwh: Type.Number({ default: 0.25 }),
      },
      { additionalProperties: false, default: {} },
    ),
    sparkplug: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        groupId: Type.String({ default: 'choco-edge', pattern: '^[^/#+]+$' }),
        edgeNodeId: Type.Optional(Type.String({ pattern: '^[^/#+]+$', description: 'defaults to site.id' })),
        url: Type.Optional(Type.String({ description: 'broker for Sparkplug; defaults to the gateway broker' })),
        username: Type.Optional(Type.String({ description: 'login on sparkplug.url (only there: the gateway broker gets the gateway login)' })),
        password: Type.Optional(Secret),
      },
      { additionalProperties: false, default: {} },
    ),
    homeAssistant: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        discoveryPrefix: Type.String({ default: 'homeassistant' }),
      },
      { additionalProperties: false, default: {} },
    ),
    notify: Type.Object(
      {
        minLevel: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')], { default: 'warning' }),
        perMinute: Type.Integer({ minimum: 1, default: 6, description: 'at most this many notifications a minute per channel' }),
        webhookUrl: Type.Optional({ ...Secret, description: 'a secret: such URLs carry their credentials in the path or query; only the origin is ever shown' }),
        telegram: Type.Optional(
          Type.Object(
            { baseUrl: Type.String({ default: 'https://api.telegram.org' }), token: Secret, chatId: Type.String() },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    models: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        dir: Type.String({ default: 'models', description: 'shipped models: <dir>/<name>/<version>/{model.json, weights.bin, card.json}' }),
        keepVersions: Type.Integer({ minimum: 1, default: 3, description: 'retrained versions kept under <dataDir>/models' }),
        priceSeries: Type.String({ default: 'omie_es', description: 'the day-ahead price series the forecaster continues' }),
        retrainEvalWeeks: Type.Integer({ minimum: 1, maximum: 26, default: 4 }),
        retrainMinDays: Type.Integer({ minimum: 7, default: 120, description: 'history needed before retraining is tried' }),
        recalibration: Type.Object(
          {
            windows: Type.Array(Type.Integer({ minimum: 7, maximum: 728 }), { minItems: 1, maxItems: 8, default: [28, 56, 84, 364], description: 'calibration windows (days) of the per-period ridge members, averaged' }),
            lambda: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.05, description: 'ridge penalty on standardised inputs, per row' }),
            conformalDays: Type.Integer({ minimum: 7, maximum: 120, default: 28, description: 'days of out-of-sample residuals behind the 10-90 % band' }),
            weightDays: Type.Integer({ minimum: 0, maximum: 60, default: 7, description: 'days of out-of-sample errors behind the weights of the members and of same-period-yesterday; 0: plain average of the members' }),
            bandStep: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1, description: 'adaptive conformal step γ: each published day moves the band edges\' quantile levels by γ × (that side\'s miss share − 10 %); 0: fixed 10/90 % residual quantiles' }),
            bandScaleDays: Type.Integer({ minimum: 0, maximum: 60, default: 7, description: 'days of recent absolute errors that scale the band (residuals divided by the error scale at their origin); 0: unscaled' }),
            clearSkyWindow: Type.Integer({ minimum: 0, maximum: 728, default: 84, description: 'members of calibration windows of at least this many days also read the target period\'s clear-sky irradiance (the seasonal size of the midday solar dip; issue #23); 0: none' }),
            guardDays: Type.Integer({ minimum: 3, maximum: 60, default: 14, description: 'recent days on which a new calibration must not be worse than the active model' }),
            tolerance: Type.Number({ minimum: 0, maximum: 0.5, default: 0.02, description: 'relative MAE margin allowed by the guard' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    modbus: Type.Object(
      {
        devices: Type.Array(ModbusDevice, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    opcua: OpcuaSection,
    plugins: Type.Object(
      {
        dir: Type.Optional(Type.String({ description: 'folder of external plugins (.js/.mjs default-exporting a plugin factory)' })),
        disabled: Type.Array(Type.String(), { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    demo: Type.Object(
      {
        startAt: Type.String({ default: '2018-01-08T09:00:00Z', description: 'simulated start (UTC); the recording must hold the week before it' }),
        simulatedSensor: Type.Boolean({ default: true, description: 'start a simulated Modbus TCP plant-floor sensor and a simulated line PLC in the demo' }),
        plc: Type.Union([Type.Literal('modbus'), Type.Literal('opcua')], { default: 'modbus', description: 'protocol of the simulated floor sensor and line PLC: Modbus TCP, or OPC UA (Basic256Sha256 SignAndEncrypt; needs node-opcua, a development dependency: without it the demo runs Modbus and its log says why)' }),
        speed: Type.Number({ exclusiveMinimum: 0, default: 600, description: 'simulated seconds per real second (600: a simulated hour every 6 s, the shipped year in about 14 h)' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type SecretValue = Static<typeof Secret>;
