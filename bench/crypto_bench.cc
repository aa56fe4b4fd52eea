// Micro benchmarks for src/crypto. bench/crypto.sh compares BM_Aes256GcmSeal1KiB with
// `openssl speed -evp aes-256-gcm -bytes 1024` on the same machine (goal: ratio >= 0.8).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/secret_bytes.h"

namespace {

using bulwark::crypto::SecretBytes;

SecretBytes FixedKey() {
  std::vector<std::uint8_t> k(32);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return SecretBytes::CopyFrom(k);
}

// A whole Seal per iteration (key setup, nonce, AAD, tag, output allocation), i.e. what a
// caller pays per record. A fixed nonce is fine here: nothing is stored.
void BM_Aes256GcmSeal1KiB(benchmark::State& state) {
  const SecretBytes key = FixedKey();
  const std::vector<std::uint8_t> nonce(12, 0x24);
  const std::vector<std::uint8_t> plain(1024, 0x5a);
  for (auto _ : state) {
    auto sealed = bulwark::crypto::Seal(key, nonce, plain, {});
    if (!sealed.ok()) std::abort();
    benchmark::DoNotOptimize(sealed->data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Aes256GcmSeal1KiB);

void BM_Aes256GcmOpen1KiB(benchmark::State& state) {
  const SecretBytes key = FixedKey();
  const std::vector<std::uint8_t> nonce(12, 0x24);
  const std::vector<std::uint8_t> plain(1024, 0x5a);
  auto sealed = bulwark::crypto::Seal(key, nonce, plain, {});
  if (!sealed.ok()) std::abort();
  for (auto _ : state) {
    auto opened = bulwark::crypto::Open(key, nonce, *sealed, {});
    if (!opened.ok()) std::abort();
    benchmark::DoNotOptimize(opened->reveal_span().data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Aes256GcmOpen1KiB);

void BM_Sha256_1KiB(benchmark::State& state) {
  const std::vector<std::uint8_t> data(1024, 0x61);
  for (auto _ : state) benchmark::DoNotOptimize(bulwark::crypto::Sha256(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Sha256_1KiB);

void BM_HmacSha256_64B(benchmark::State& state) {
  const std::vector<std::uint8_t> key(32, 0x0b);
  const std::vector<std::uint8_t> data(64, 0x61);
  for (auto _ : state) benchmark::DoNotOptimize(bulwark::crypto::HmacSha256(key, data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
}
BENCHMARK(BM_HmacSha256_64B);

}  // namespace

// bench/*.cc are linked into one binary (bulwark_bench) against benchmark::benchmark, which has
// no main(); this file provides it. Other bench files must not define another.
BENCHMARK_MAIN();
