// libsrtp2 side of `npm run bench -- srtp`: the same ops, packet sizes, chunking and timing as bench/srtp/*.js.
//   srtp-bench SUITE PAYLOAD_BYTES OP SAMPLES SAMPLE_MS   (OP: protect | unprotect | pair)
// Prints one JSON line: {"packetsPerSecond":..,"min":..,"max":..} or {"unsupported":"why"}.
// libsrtp works in place, so each packet is first copied into a work buffer (about 1% of the per-packet time);
// unprotect gets a fresh receiving session for each chunk (outside the clock), since libsrtp refuses replays.
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 2048
#define SSRC 0x1234abcd
#define MAX_PACKET 2048

static unsigned char key[30];
static int is_gcm;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static srtp_err_status_t make_session(srtp_t *s, int inbound) {
  srtp_policy_t p;
  memset(&p, 0, sizeof p);
  if (is_gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
  } else {
    srtp_crypto_policy_set_rtp_default(&p.rtp);
    srtp_crypto_policy_set_rtcp_default(&p.rtcp);
  }
  p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  p.key = key;
  p.window_size = 128;
  return srtp_create(s, &p);
}

static void fail(const char *what, srtp_err_status_t e) {
  fprintf(stderr, "libsrtp %s failed: %d\n", what, (int)e);
  exit(1);
}

static unsigned char template[MAX_PACKET];
static int template_len;
static unsigned char prepared[CHUNK][MAX_PACKET];
static int prepared_len[CHUNK];
static srtp_t tx, pair_rx;
static unsigned seq;

static void set_seq(unsigned char *p, unsigned s) {
  p[2] = (s >> 8) & 0xff;
  p[3] = s & 0xff;
}

static int protect_one(srtp_t s, unsigned char *work) {
  memcpy(work, template, template_len);
  set_seq(work, seq++);
  int len = template_len;
  srtp_err_status_t e = srtp_protect(s, work, &len);
  if (e) fail("protect", e);
  return len;
}

static double run_chunk(const char *op) {
  static unsigned char work[MAX_PACKET];
  double t0;
  if (strcmp(op, "protect") == 0) {
    t0 = now_ms();
    for (int i = 0; i < CHUNK; i++) protect_one(tx, work);
    return now_ms() - t0;
  }
  if (strcmp(op, "pair") == 0) {
    t0 = now_ms();
    for (int i = 0; i < CHUNK; i++) {
      int len = protect_one(tx, work);
      srtp_err_status_t e = srtp_unprotect(pair_rx, work, &len);
      if (e) fail("unprotect", e);
    }
    return now_ms() - t0;
  }
  srtp_t rx;
  srtp_err_status_t e = make_session(&rx, 1);
  if (e) fail("create", e);
  t0 = now_ms();
  for (int i = 0; i < CHUNK; i++) {
    int len = prepared_len[i];
    memcpy(work, prepared[i], len);
    e = srtp_unprotect(rx, work, &len);
    if (e) fail("unprotect", e);
  }
  double ms = now_ms() - t0;
  srtp_dealloc(rx);
  return ms;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s SUITE PAYLOAD_BYTES OP SAMPLES SAMPLE_MS\n", argv[0]);
    return 2;
  }
  const char *suite = argv[1], *op = argv[3];
  int payload = atoi(argv[2]), samples = atoi(argv[4]);
  double sample_ms = atof(argv[5]);
  if (strcmp(suite, "AEAD_AES_128_GCM") == 0) is_gcm = 1;
  else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") != 0) {
    printf("{\"unsupported\":\"no such suite in this harness\"}\n");
    return 0;
  }
  if (payload < 0 || 12 + payload + 32 > MAX_PACKET || samples < 1 || samples > 99) return 2;
  for (int i = 0; i < 16; i++) key[i] = 0x10 + i; // same master key and salt as bench/srtp/measure.js
  for (int i = 0; i < 14; i++) key[16 + i] = 0x80 + i;
  if (srtp_init()) fail("init", 1);
  srtp_err_status_t e = make_session(&tx, 0);
  if (e) {
    printf("{\"unsupported\":\"srtp_create failed (%d): this libsrtp2 has no %s (built without OpenSSL?)\"}\n", (int)e, suite);
    return 0;
  }
  if ((e = make_session(&pair_rx, 1))) fail("create", e);
  template_len = 12 + payload;
  template[0] = 0x80;
  template[1] = 33;
  template[8] = 0x12, template[9] = 0x34, template[10] = 0xab, template[11] = 0xcd;
  for (int i = 12; i < template_len; i++) template[i] = (unsigned char)(i * 131 + 7);
  srtp_t prep;
  if ((e = make_session(&prep, 0))) fail("create", e);
  unsigned saved = seq;
  seq = 0;
  for (int i = 0; i < CHUNK; i++) prepared_len[i] = protect_one(prep, prepared[i]);
  seq = saved;
  srtp_dealloc(prep);

  run_chunk(op); // warm-up
  double rates[100];
  for (int s = 0; s < samples; s++) {
    double ms = 0;
    long packets = 0;
    while (ms < sample_ms) {
      ms += run_chunk(op);
      packets += CHUNK;
    }
    rates[s] = packets / ms * 1000;
  }
  qsort(rates, samples, sizeof rates[0], cmp);
  printf("{\"packetsPerSecond\":%.0f,\"min\":%.0f,\"max\":%.0f}\n", rates[samples / 2], rates[0], rates[samples - 1]);
  return 0;
}
