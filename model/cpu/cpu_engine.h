// model/cpu/cpu_engine.h — the CPU backend of Engine (model/engine.h).
//
// Owns: the weights, a worker pool (EngineOptions::n_threads), one fp32 KvCache per sequence and the
// forward scratch. fork_sequence copies the prefix (caps().paged_kv == false). Prefill runs in chunks of
// at most 256 tokens. Threads: as Engine — one calling thread; the pool works only inside calls.
// Errors: as Engine; open_cpu_engine adds the weight loader's errors.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kernels/cpu/dtype.h"
#include "model/engine.h"
#include "model/weights.h"

namespace glm {

// Takes the weights; `pool` may be null (one is made from opt.n_threads).
Result<std::unique_ptr<Engine>> make_cpu_engine(Glm4Weights weights, const EngineOptions& opt,
                                                std::unique_ptr<kernels::ThreadPool> pool = nullptr);

// The weight options the CPU engine wants for `opt`: matrices resident in huge pages, packed for their kernels
// (kernels::packing_wanted) unless opt asks for exact matmuls (those read the stored rows, so a packed copy would
// be dead memory); matmul_dtype and pool as WeightOptions has them.
WeightOptions cpu_weight_options(const EngineOptions& opt, std::optional<kernels::DType> matmul_dtype,
                                 kernels::ThreadPool* pool);

// Loads DIR (config.json + safetensors) and makes a CPU engine; matmul_dtype re-encodes the matrices
// (e.g. q8_0) at load.
Result<std::unique_ptr<Engine>> open_cpu_engine(const std::string& model_dir, const EngineOptions& opt,
                                                std::optional<kernels::DType> matmul_dtype = std::nullopt);

}  // namespace glm
