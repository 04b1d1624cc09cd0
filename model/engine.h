// model/engine.h — the inference engine as the scheduler sees it, for every backend (CPU now, CUDA later).
//
// An Engine holds one model and many sequences. A sequence is a KV cache plus its length: prefill()
// appends a run of tokens to one sequence, decode() appends one token to each of several distinct
// sequences in one batched step, fork_sequence() starts a new sequence from the cached prefix of
// another (agents resend long prompts every step; the CPU backend copies the prefix, a paged backend
// shares its blocks), truncate_sequence() drops a tail (the cached prompt diverged), release frees it.
// Logits are written into caller-owned float rows of caps().n_vocab each.
//
//   auto eng = make_cpu_engine(std::move(weights), {});
//   SeqId s = *eng->create_sequence();
//   std::vector<float> row(eng->caps().n_vocab);
//   eng->prefill(s, prompt_ids, LogitsMode::last, row);            // logits of the last prompt token
//   DecodeInput in{s, next_token};
//   eng->decode({&in, 1}, row);                                    // one step for one sequence
//
// Capabilities are data (EngineCaps): the scheduler reads caps(), never #ifdefs.
// Threads: an Engine is NOT thread-safe. One thread (the engine thread) makes every call; the engine may
// use its own worker threads inside a call and has none running between calls. Sequence ids are only
// meaningful to the engine that made them.
// Errors (nothing changes when a call fails): not_found (unknown sequence), invalid_argument (token id
// outside [0, n_vocab), a logits span of the wrong size, the same sequence twice in one decode batch,
// n_prefix past the parent's length), output (the sequence would exceed caps().max_seq_len), memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"
#include "model/config.h"

namespace glm {

using SeqId = int64_t;

struct EngineCaps {
  std::string backend;        // "cpu", "cuda"
  bool paged_kv = false;      // fork_sequence shares KV blocks (true) or copies the prefix (false)
  bool async_copy = false;    // logits copies overlap the next step
  int max_batch = 0;          // most sequences in one decode() call
  int64_t max_seq_len = 0;    // most tokens in one sequence (positions 0 .. max_seq_len - 1)
  int64_t n_vocab = 0;        // width of a logits row
  int n_threads = 1;          // CPU worker threads used inside calls
  std::string weight_dtype;   // "bf16", "q8_0", ... (of the layer matrices)
};

enum class LogitsMode {
  none,  // no rows (prefill of a prefix that will be decoded from later)
  last,  // one row: the last token's
  all,   // one row per token, in order
};

struct DecodeInput {
  SeqId seq = -1;
  int32_t token = 0;
};

struct EngineOptions {
  int n_threads = 0;           // <= 0: all hardware threads
  int64_t max_seq_len = 0;     // <= 0: the config's context_length() (max_position_embeddings, or YaRN's)
  int max_batch = 64;
  // Every matmul with full-precision activations (the CPU backend's exact reference). Otherwise activations
  // are rounded to what the weights' dot-product instructions take (bf16, int8 blocks), as llama.cpp and GPU
  // GEMMs do: faster, within the rounding error of the activations.
  bool exact_matmul = false;
};

class Engine {
 public:
  virtual ~Engine() = default;

  virtual const EngineCaps& caps() const = 0;
  virtual const Glm4Config& config() const = 0;

  // A new, empty sequence.
  virtual Result<SeqId> create_sequence() = 0;
  // A new sequence whose cache holds the first n_prefix tokens of parent's (0 <= n_prefix <= length).
  virtual Result<SeqId> fork_sequence(SeqId parent, int64_t n_prefix) = 0;
  // Keeps the first n_keep tokens of seq (n_keep <= length); the next token goes to position n_keep.
  virtual Status truncate_sequence(SeqId seq, int64_t n_keep) = 0;
  virtual Status release_sequence(SeqId seq) = 0;
  virtual Result<int64_t> sequence_length(SeqId seq) const = 0;

  // Appends tokens (at positions length .. length + n - 1) and runs the model over them. `logits` holds
  // exactly 0, 1 or tokens.size() rows of n_vocab floats for mode none, last, all.
  virtual Status prefill(SeqId seq, std::span<const int32_t> tokens, LogitsMode mode, std::span<float> logits) = 0;

  // One token for each of batch.size() distinct sequences (at most caps().max_batch), as one step;
  // logits row i (of batch.size() rows) belongs to batch[i].
  virtual Status decode(std::span<const DecodeInput> batch, std::span<float> logits) = 0;
};

}  // namespace glm
