/* The Ed25519 public key this firmware trusts for model packages (docs/model-package.md,
 * "Keys"). Which key is a build option, and a build must choose one:
 *
 *   -DWS_TRUST_DEV_KEY=1                   the committed DEVELOPMENT key (dev_key.h): the
 *                                          emulator, the tests, the fuzz targets, the demo
 *   -DWS_TRUSTED_KEY_HEADER='"PATH"'       a maker's production key, from the header
 *                                          tools/gen_trusted_key.py --public-key writes
 *
 * A build that chooses neither, or both, or names a header holding the development key,
 * does not compile: no production firmware trusts the key committed in the repository. */
#include "ws_pkg.h"

#if defined(WS_TRUST_DEV_KEY) && WS_TRUST_DEV_KEY
#if defined(WS_TRUSTED_KEY_HEADER)
#error "choose one trusted key: WS_TRUST_DEV_KEY=1 or WS_TRUSTED_KEY_HEADER, not both"
#endif
#include "dev_key.h"
#elif defined(WS_TRUSTED_KEY_HEADER)
#include WS_TRUSTED_KEY_HEADER
#if !defined(WS_TRUSTED_KEY_IS_DEV) || WS_TRUSTED_KEY_IS_DEV
#error "WS_TRUSTED_KEY_HEADER holds the DEVELOPMENT key; a production build never trusts it"
#endif
#else
#error "no trusted key: build with WS_TRUST_DEV_KEY=1 (emulator, tests) or WS_TRUSTED_KEY_HEADER (a maker's key; tools/gen_trusted_key.py)"
#endif

const uint8_t *ws_pkg_trusted_key(void) { return WS_TRUSTED_PUBLIC_KEY; }

int ws_pkg_trusted_key_is_dev(void) { return WS_TRUSTED_KEY_IS_DEV; }
