#pragma once
// The metrics tests' reference: scikit-learn, run once per test on every case the test collects.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/support.h"

#include <fstream>
#include <string>
#include <vector>

namespace lightning::testing {

/// A tensor as nested JSON lists of numbers.
inline nlohmann::json as_json(const at::Tensor& t) {
  const at::Tensor values = t.to(at::kDouble).contiguous();
  if (values.dim() == 0) return values.item<double>();
  nlohmann::json list = nlohmann::json::array();
  for (int64_t i = 0; i < values.size(0); ++i) list.push_back(as_json(values[i]));
  return list;
}

/// Cases for tests/metrics/sklearn_reference.py, computed together by one Python process.
class SklearnReference {
 public:
  void add(const std::string& name, const std::string& fn, const std::vector<at::Tensor>& args,
           nlohmann::json kwargs = nlohmann::json::object()) {
    nlohmann::json arguments = nlohmann::json::array();
    for (const auto& a : args) arguments.push_back(as_json(a));
    cases_.push_back({{"name", name}, {"fn", fn}, {"args", arguments}, {"kwargs", kwargs}});
  }

  /// Every case's value, by name.
  nlohmann::json compute() const {
    TempDir dir;
    const std::string path = dir / "cases.json";
    std::ofstream(path) << cases_.dump();
    const std::string script = std::string(LIGHTNING_TEST_SOURCE_DIR) + "/metrics/sklearn_reference.py";
    return nlohmann::json::parse(run_python("exec(open('" + script + "').read())", {path}));
  }

 private:
  nlohmann::json cases_ = nlohmann::json::array();
};

/// Updates `metric` with `preds` and `target` in batches of `batch` rows, as an epoch would.
template <class M>
void update_in_batches(M& metric, const at::Tensor& preds, const at::Tensor& target, int64_t batch = 64) {
  for (int64_t start = 0; start < preds.size(0); start += batch) {
    const int64_t length = std::min(batch, preds.size(0) - start);
    metric.update(preds.narrow(0, start, length), target.narrow(0, start, length));
  }
}

/// `actual` equals the reference value (a number or nested lists) within `tolerance`.
inline void expect_near(const at::Tensor& actual, const nlohmann::json& expected, const std::string& what,
                        double tolerance = 1e-6) {
  const nlohmann::json got = as_json(actual);
  if (expected.is_number()) {
    ASSERT_TRUE(got.is_number()) << what << ": got " << got.dump() << ", expected " << expected.dump();
    EXPECT_NEAR(got.get<double>(), expected.get<double>(), tolerance) << what;
    return;
  }
  ASSERT_TRUE(got.is_array() && got.size() == expected.size())
      << what << ": got " << got.dump() << ", expected " << expected.dump();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    expect_near(actual[static_cast<int64_t>(i)], expected[i], what + "[" + std::to_string(i) + "]", tolerance);
  }
}

}  // namespace lightning::testing
