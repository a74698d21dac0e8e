// keycast's optional native SRTP crypto: AES-CM + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2) and AES-GCM (RFC 7714) on
// one packet per call, and one-shot AES-GCM for key wraps; linked against the OpenSSL that the running node binary
// exports (no libssl of its own).
// Why: node:crypto costs 2-5 µs of fixed overhead per call, which dominates at packet sizes; here one N-API call
// does the whole packet with cipher and HMAC state kept across packets (key schedule and HMAC pads computed once).
//
// The TypeScript side (src/crypto/native.ts) owns every length check and computes nothing secret-dependent; this
// file re-checks lengths anyway (a wrong call throws, it never reads out of bounds) and compares tags with
// CRYPTO_memcmp. Session keys live only in OpenSSL contexts, cleansed and freed by free() or the finalizer.

#define OPENSSL_SUPPRESS_DEPRECATED // HMAC_CTX: still the fastest per-packet HMAC in OpenSSL 3 (no provider fetch)
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define AES_BLOCK 16
#define SALT_BYTES 14
#define SHA1_BYTES 20
#define GCM_IV_BYTES 12
#define GCM_TAG_BYTES 16

enum kind { KIND_CM = 1, KIND_GCM = 2 };

typedef struct {
  int kind;
  EVP_CIPHER_CTX *cipher;
  HMAC_CTX *hmac;          // CM only
  uint8_t salt[SALT_BYTES]; // CM only
} state_t;

#define CHECK(env, cond, msg)                                                                                    \
  do {                                                                                                           \
    if (!(cond)) {                                                                                               \
      napi_throw_error((env), NULL, (msg));                                                                      \
      return NULL;                                                                                               \
    }                                                                                                            \
  } while (0)

typedef struct {
  uint8_t *data;
  size_t len;
} bytes_t;

static int get_bytes(napi_env env, napi_value v, bytes_t *out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  out->data = data;
  out->len = length;
  return 1;
}

static void free_state(state_t *s) {
  if (s->cipher != NULL) EVP_CIPHER_CTX_free(s->cipher); // EVP_CIPHER_CTX_free cleanses the key schedule
  if (s->hmac != NULL) HMAC_CTX_free(s->hmac);           // so does HMAC_CTX_free
  s->cipher = NULL;
  s->hmac = NULL;
  OPENSSL_cleanse(s->salt, sizeof s->salt);
}

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  state_t *s = data;
  free_state(s);
  OPENSSL_free(s);
}

static state_t *get_state(napi_env env, napi_value v, int kind) {
  state_t *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || s == NULL) return NULL;
  if (s->kind != kind || s->cipher == NULL) return NULL;
  return s;
}

static const EVP_CIPHER *ctr_cipher(size_t key_len) {
  return key_len == 16 ? EVP_aes_128_ctr() : key_len == 24 ? EVP_aes_192_ctr() : key_len == 32 ? EVP_aes_256_ctr() : NULL;
}

static const EVP_CIPHER *gcm_cipher(size_t key_len) {
  return key_len == 16 ? EVP_aes_128_gcm() : key_len == 24 ? EVP_aes_192_gcm() : key_len == 32 ? EVP_aes_256_gcm() : NULL;
}

static napi_value wrap_state(napi_env env, state_t *s) {
  napi_value ext;
  if (napi_create_external(env, s, finalize_state, NULL, &ext) != napi_ok) {
    finalize_state(env, s, NULL);
    napi_throw_error(env, NULL, "keycast native: napi_create_external failed");
    return NULL;
  }
  return ext;
}

// cmCreate(encKey, salt14, authKey) -> state
static napi_value cm_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bytes_t key, salt, auth;
  CHECK(env, argc == 3 && get_bytes(env, argv[0], &key) && get_bytes(env, argv[1], &salt) && get_bytes(env, argv[2], &auth),
        "cmCreate(encKey, salt, authKey): Uint8Array arguments expected");
  const EVP_CIPHER *c = ctr_cipher(key.len);
  CHECK(env, c != NULL && salt.len == SALT_BYTES && auth.len > 0, "cmCreate: key 16/24/32 bytes, salt 14 bytes");
  state_t *s = OPENSSL_zalloc(sizeof *s);
  CHECK(env, s != NULL, "cmCreate: out of memory");
  s->kind = KIND_CM;
  memcpy(s->salt, salt.data, SALT_BYTES);
  s->cipher = EVP_CIPHER_CTX_new();
  s->hmac = HMAC_CTX_new();
  if (s->cipher == NULL || s->hmac == NULL || EVP_EncryptInit_ex(s->cipher, c, NULL, key.data, NULL) != 1 ||
      HMAC_Init_ex(s->hmac, auth.data, (int)auth.len, EVP_sha1(), NULL) != 1) {
    finalize_state(env, s, NULL);
    napi_throw_error(env, NULL, "cmCreate: OpenSSL initialisation failed");
    return NULL;
  }
  return wrap_state(env, s);
}

// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
static void cm_iv(const state_t *s, uint32_t ssrc, uint64_t index, uint8_t iv[AES_BLOCK]) {
  memcpy(iv, s->salt, SALT_BYTES);
  iv[14] = 0;
  iv[15] = 0;
  for (int i = 0; i < 4; i++) iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; i++) iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
}

static int cm_crypt(state_t *s, uint32_t ssrc, uint64_t index, const uint8_t *in, uint8_t *out, size_t len) {
  if (len == 0) return 1;
  uint8_t iv[AES_BLOCK];
  cm_iv(s, ssrc, index, iv);
  int n = 0;
  // Key stays scheduled: a NULL key re-initialises only the counter block.
  return EVP_EncryptInit_ex(s->cipher, NULL, NULL, NULL, iv) == 1 && EVP_EncryptUpdate(s->cipher, out, &n, in, (int)len) == 1 &&
         (size_t)n == len;
}

// RFC 3711 §4.2: HMAC-SHA1(k_a, authenticated portion || ROC).
static int cm_mac(state_t *s, const uint8_t *data, size_t len, uint64_t index, uint8_t mac[SHA1_BYTES]) {
  uint32_t roc = (uint32_t)(index >> 16);
  uint8_t roc_bytes[4] = {(uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8), (uint8_t)roc};
  unsigned int n = 0;
  return HMAC_Init_ex(s->hmac, NULL, 0, NULL, NULL) == 1 && HMAC_Update(s->hmac, data, len) == 1 &&
         HMAC_Update(s->hmac, roc_bytes, 4) == 1 && HMAC_Final(s->hmac, mac, &n) == 1 && n == SHA1_BYTES;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) { return napi_get_value_uint32(env, v, out) == napi_ok; }

static int get_index(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d < 281474976710656.0) || d != (double)(uint64_t)d) return 0;
  *out = (uint64_t)d;
  return 1;
}

// cmProtect(state, ssrc, index, rtp, headerLengthBytes, out, tagOut): out = header || AES-CM(payload), tagOut = MAC prefix.
static napi_value cm_protect(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  CHECK(env, argc == 7, "cmProtect: 7 arguments expected");
  state_t *s = get_state(env, argv[0], KIND_CM);
  uint32_t ssrc, header_len;
  uint64_t index;
  bytes_t rtp, out, tag;
  CHECK(env, s != NULL, "cmProtect: not a live AES-CM state");
  CHECK(env, get_u32(env, argv[1], &ssrc) && get_index(env, argv[2], &index) && get_bytes(env, argv[3], &rtp) &&
                 get_u32(env, argv[4], &header_len) && get_bytes(env, argv[5], &out) && get_bytes(env, argv[6], &tag),
        "cmProtect: bad argument types");
  CHECK(env, header_len <= rtp.len && out.len == rtp.len && tag.len <= SHA1_BYTES, "cmProtect: bad lengths");
  memmove(out.data, rtp.data, header_len);
  uint8_t mac[SHA1_BYTES];
  int ok = cm_crypt(s, ssrc, index, rtp.data + header_len, out.data + header_len, rtp.len - header_len) &&
           cm_mac(s, out.data, out.len, index, mac);
  CHECK(env, ok, "cmProtect: OpenSSL failed");
  memcpy(tag.data, mac, tag.len);
  OPENSSL_cleanse(mac, sizeof mac);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

// cmUnprotect(state, ssrc, index, authenticated, headerLengthBytes, tag, out) -> boolean; out written only on success.
static napi_value cm_unprotect(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  CHECK(env, argc == 7, "cmUnprotect: 7 arguments expected");
  state_t *s = get_state(env, argv[0], KIND_CM);
  uint32_t ssrc, header_len;
  uint64_t index;
  bytes_t auth, tag, out;
  CHECK(env, s != NULL, "cmUnprotect: not a live AES-CM state");
  CHECK(env, get_u32(env, argv[1], &ssrc) && get_index(env, argv[2], &index) && get_bytes(env, argv[3], &auth) &&
                 get_u32(env, argv[4], &header_len) && get_bytes(env, argv[5], &tag) && get_bytes(env, argv[6], &out),
        "cmUnprotect: bad argument types");
  CHECK(env, header_len <= auth.len && out.len == auth.len && tag.len > 0 && tag.len <= SHA1_BYTES,
        "cmUnprotect: bad lengths");
  uint8_t mac[SHA1_BYTES];
  int ok = cm_mac(s, auth.data, auth.len, index, mac) && CRYPTO_memcmp(mac, tag.data, tag.len) == 0;
  OPENSSL_cleanse(mac, sizeof mac);
  if (ok) {
    memmove(out.data, auth.data, header_len);
    ok = cm_crypt(s, ssrc, index, auth.data + header_len, out.data + header_len, auth.len - header_len);
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// gcmCreate(key) -> state
static napi_value gcm_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bytes_t key;
  CHECK(env, argc == 1 && get_bytes(env, argv[0], &key), "gcmCreate(key): Uint8Array expected");
  const EVP_CIPHER *c = gcm_cipher(key.len);
  CHECK(env, c != NULL, "gcmCreate: key must be 16, 24 or 32 bytes");
  state_t *s = OPENSSL_zalloc(sizeof *s);
  CHECK(env, s != NULL, "gcmCreate: out of memory");
  s->kind = KIND_GCM;
  s->cipher = EVP_CIPHER_CTX_new();
  if (s->cipher == NULL || EVP_CipherInit_ex(s->cipher, c, NULL, key.data, NULL, 1) != 1) {
    finalize_state(env, s, NULL);
    napi_throw_error(env, NULL, "gcmCreate: OpenSSL initialisation failed");
    return NULL;
  }
  return wrap_state(env, s);
}

// One GCM operation with the scheduled key: enc 1 = seal (writes tag), 0 = open (checks tag). IV is 12 bytes.
static int gcm_run(state_t *s, int enc, const bytes_t *iv, const bytes_t *aad, const bytes_t *in, uint8_t *out,
                   uint8_t *tag) {
  int n = 0;
  if (EVP_CipherInit_ex(s->cipher, NULL, NULL, NULL, iv->data, enc) != 1) return 0;
  if (aad->len > 0 && EVP_CipherUpdate(s->cipher, NULL, &n, aad->data, (int)aad->len) != 1) return 0;
  if (in->len > 0 && (EVP_CipherUpdate(s->cipher, out, &n, in->data, (int)in->len) != 1 || (size_t)n != in->len)) return 0;
  if (!enc && EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_SET_TAG, GCM_TAG_BYTES, tag) != 1) return 0;
  // For open, CipherFinal is where OpenSSL checks the tag (with CRYPTO_memcmp).
  if (EVP_CipherFinal_ex(s->cipher, out + in->len, &n) != 1) return 0;
  return !enc || EVP_CIPHER_CTX_ctrl(s->cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG_BYTES, tag) == 1;
}

// gcmSeal(state, iv12, aad, plaintext, out, tagOut16) / gcmOpen(state, iv12, aad, ciphertext, tag16, out) -> boolean
static napi_value gcm_call(napi_env env, napi_callback_info info, int enc) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  CHECK(env, argc == 6, "gcmSeal/gcmOpen: 6 arguments expected");
  state_t *s = get_state(env, argv[0], KIND_GCM);
  CHECK(env, s != NULL, "gcmSeal/gcmOpen: not a live GCM state");
  bytes_t iv, aad, in, out, tag;
  int ok = get_bytes(env, argv[1], &iv) && get_bytes(env, argv[2], &aad) && get_bytes(env, argv[3], &in);
  ok = ok && (enc ? get_bytes(env, argv[4], &out) && get_bytes(env, argv[5], &tag)
                  : get_bytes(env, argv[4], &tag) && get_bytes(env, argv[5], &out));
  CHECK(env, ok, "gcmSeal/gcmOpen: Uint8Array arguments expected");
  CHECK(env, iv.len == GCM_IV_BYTES && tag.len == GCM_TAG_BYTES && out.len == in.len, "gcmSeal/gcmOpen: bad lengths");
  ok = gcm_run(s, enc, &iv, &aad, &in, out.data, tag.data);
  CHECK(env, ok || !enc, "gcmSeal: OpenSSL failed");
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value gcm_seal(napi_env env, napi_callback_info info) { return gcm_call(env, info, 1); }
static napi_value gcm_open(napi_env env, napi_callback_info info) { return gcm_call(env, info, 0); }

// Per thread (napi env): the context the AES-256 key wraps reuse, set to AES-256-GCM once at load.
typedef struct {
  EVP_CIPHER_CTX *wrap256;
} instance_t;

static void finalize_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  instance_t *inst = data;
  EVP_CIPHER_CTX_free(inst->wrap256); // cleanses
  free(inst);
}

// gcmWrapOnce(key, aad, plaintext, wrapped) / gcmUnwrapOnce(key, aad, wrapped, plaintextOut) -> boolean: one key
// wrap in the layout of src/crypto/aead-wrap.ts, wrapped = nonce(12) || ciphertext || tag(16), the nonce already in
// place (the caller draws it). Nothing is kept between calls but the context (below): each call sets its own key
// and IV. One call instead of five through node:crypto, and no views to cut on the JavaScript side.
static napi_value gcm_once(napi_env env, napi_callback_info info, int enc) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  CHECK(env, argc == 4, "gcmWrapOnce/gcmUnwrapOnce: 4 arguments expected");
  bytes_t key, aad, in, out;
  int ok = get_bytes(env, argv[0], &key) && get_bytes(env, argv[1], &aad) && get_bytes(env, argv[2], &in) &&
           get_bytes(env, argv[3], &out);
  CHECK(env, ok, "gcmWrapOnce/gcmUnwrapOnce: Uint8Array arguments expected");
  const EVP_CIPHER *c = gcm_cipher(key.len);
  CHECK(env, c != NULL, "gcmWrapOnce/gcmUnwrapOnce: key must be 16, 24 or 32 bytes");
  const bytes_t *wrapped = enc ? &out : &in;
  const bytes_t *plain = enc ? &in : &out;
  CHECK(env, wrapped->len == GCM_IV_BYTES + plain->len + GCM_TAG_BYTES, "gcmWrapOnce/gcmUnwrapOnce: bad lengths");
  bytes_t iv = {.data = wrapped->data, .len = GCM_IV_BYTES};
  bytes_t body = {.data = wrapped->data + GCM_IV_BYTES, .len = plain->len};
  uint8_t *tag = wrapped->data + GCM_IV_BYTES + plain->len;
  // AES-256 (every wrap keycast makes) reuses this thread's context: re-keying it allocates nothing, where a fresh
  // context costs a malloc and an OpenSSL provider context per call. Its key schedule holds the last KEK until the
  // next wrap, in a process whose heap holds those keys anyway; other key sizes get a context of their own.
  instance_t *inst = NULL;
  napi_get_instance_data(env, (void **)&inst);
  int reuse = inst != NULL && key.len == 32;
  state_t s = {.kind = KIND_GCM, .cipher = reuse ? inst->wrap256 : EVP_CIPHER_CTX_new()};
  CHECK(env, s.cipher != NULL, "gcmWrapOnce/gcmUnwrapOnce: out of memory");
  ok = EVP_CipherInit_ex(s.cipher, reuse ? NULL : c, NULL, key.data, NULL, enc) == 1;
  ok = ok && (enc ? gcm_run(&s, 1, &iv, &aad, plain, body.data, tag) : gcm_run(&s, 0, &iv, &aad, &body, out.data, tag));
  if (!reuse) EVP_CIPHER_CTX_free(s.cipher); // cleanses the key schedule
  CHECK(env, ok || !enc, "gcmWrapOnce: OpenSSL failed");
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value gcm_wrap_once(napi_env env, napi_callback_info info) { return gcm_once(env, info, 1); }
static napi_value gcm_unwrap_once(napi_env env, napi_callback_info info) { return gcm_once(env, info, 0); }

// free(state): cleanses and frees the keys now (zeroize); the state is unusable afterwards.
static napi_value state_free(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  state_t *s = NULL;
  CHECK(env, argc == 1 && napi_get_value_external(env, argv[0], (void **)&s) == napi_ok && s != NULL,
        "free(state): state expected");
  free_state(s);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

static napi_value init(napi_env env, napi_value exports) {
  // Wraps fall back to a context per call if any of this fails.
  instance_t *inst = calloc(1, sizeof *inst);
  if (inst != NULL) {
    inst->wrap256 = EVP_CIPHER_CTX_new();
    if (inst->wrap256 == NULL ||
        EVP_CipherInit_ex(inst->wrap256, EVP_aes_256_gcm(), NULL, NULL, NULL, 1) != 1 ||
        napi_set_instance_data(env, inst, finalize_instance, NULL) != napi_ok) {
      EVP_CIPHER_CTX_free(inst->wrap256);
      free(inst);
    }
  }
  napi_property_descriptor props[] = {
      {"cmCreate", NULL, cm_create, NULL, NULL, NULL, napi_default, NULL},
      {"cmProtect", NULL, cm_protect, NULL, NULL, NULL, napi_default, NULL},
      {"cmUnprotect", NULL, cm_unprotect, NULL, NULL, NULL, napi_default, NULL},
      {"gcmCreate", NULL, gcm_create, NULL, NULL, NULL, napi_default, NULL},
      {"gcmSeal", NULL, gcm_seal, NULL, NULL, NULL, napi_default, NULL},
      {"gcmOpen", NULL, gcm_open, NULL, NULL, NULL, napi_default, NULL},
      {"gcmWrapOnce", NULL, gcm_wrap_once, NULL, NULL, NULL, napi_default, NULL},
      {"gcmUnwrapOnce", NULL, gcm_unwrap_once, NULL, NULL, NULL, napi_default, NULL},
      {"free", NULL, state_free, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
