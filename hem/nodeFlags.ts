/**
 * The V8 flags a HEM runs with (deploy/tmi-hem.service, and every HEM process the
 * project starts itself: the simulation, the end-to-end tests, bench:hem):
 *   --lite-mode             no optimizing compiler and no WebAssembly; the HEM does a few
 *                           milliseconds of work per interval, and this saves ~7 MB
 *   --no-expose-wasm        says so explicitly (else V8 warns on every start)
 *   --max-semi-space-size=1 a 1 MB young generation instead of up to 16 MB
 * Nothing the HEM loads needs WebAssembly: its registry client is node:http, not fetch
 * (undici's parser is WebAssembly).
 */
export const HEM_NODE_FLAGS: readonly string[] = ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1'];
