/**
 * The V8 flags the gateway process is started with: deploy/choco-edge.service, deploy/Dockerfile and the npm
 * `start`/`demo` scripts carry them (test/tools/node-flags.test.ts keeps them in step); the benchmarks start the
 * gateway with them too. They cannot be set from inside the process: V8 sizes its heap before any code runs.
 *
 * `--max-semi-space-size=2` (MB): V8's young generation grows to 3 × 16 MB by default, and a gateway that
 * allocated briskly at start (config, schemas, plugins, the first fetches) keeps it committed: about 35 MB of the
 * idle RSS (issue 24). A 2 MB semi-space means a scavenge per 2 MB allocated; each is short (the gateway's
 * short-lived objects are small), and the cost shows as CPU in `npm run bench` (the scale table), not as a
 * change of behaviour.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
