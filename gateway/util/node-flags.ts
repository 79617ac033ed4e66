/**
 * The V8 flags the gateway process is started with: deploy/choco-edge.service, deploy/Dockerfile and the npm
 * `start`/`demo` scripts carry them (test/tools/node-flags.test.ts keeps them in step); the benchmarks start the
 * gateway with them too. They cannot be set from inside the process: V8 sizes its heap before any code runs.
 *
 * `--max-semi-space-size=8` (MB): V8's young generation grows to 3 × 16 MB by default, and a gateway that
 * allocated briskly at start (config, schemas, plugins, the first fetches) keeps it committed: capped at 8 MB it
 * gives back ~10 MB of the idle RSS (~35 MB at 2 MB). Smaller is not better under load: with 2-6 MB, a second's Modbus cycles at 5,000
 * tags outlive two scavenges, get promoted and pile up in the old generation (issue 24, `npm run bench -- --scale`
 * at 5,000 tags: RSS 246 / 231 / 198 MB at 2 / 4 / 6 MB, 163 MB at 8, 172 MB at node's default 16; idle 96-106 /
 * 95-107 / 116-121 / 120-122 / 128-131 MB).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
