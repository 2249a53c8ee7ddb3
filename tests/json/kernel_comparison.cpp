// Runs the build's SIMD kernel and the scalar reference on the same inputs and compares
// every output: validate_utf8, index_structure, find_string_special. Plain C++ with no
// Python, so it also runs on arm64 under qemu (tests/json/test_kernels.py builds and runs it):
//
//   g++ -O2 -std=c++17 -march=haswell -Icpp tests/json/kernel_comparison.cpp
//       cpp/json/scalar/*.cpp cpp/json/haswell/*.cpp -o kernel_comparison
//   aarch64-linux-gnu-g++ -O2 -static -std=c++17 -Icpp tests/json/kernel_comparison.cpp
//       cpp/json/scalar/*.cpp cpp/json/arm64/*.cpp -o kernel_comparison
//   qemu-aarch64 ./kernel_comparison
//
// Exits 1 on the first mismatch, after printing the input; prints the number of inputs
// compared otherwise. An optional argument scales the number of random inputs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "json/kernel.h"

namespace {

using lamina::json::ActiveKernel;
using lamina::json::StructuralIndex;
namespace scalar = lamina::json::scalar;

struct Outputs {
  bool valid_utf8 = false;
  std::vector<uint32_t> tokens;  // followed by the sentinel
  std::vector<std::pair<size_t, bool>> specials;  // find_string_special from each start
};

template <class Kernel>
Outputs run_kernel(const std::string& input, size_t starts) {
  Outputs outputs;
  outputs.valid_utf8 = Kernel::validate_utf8(input.data(), input.size());
  StructuralIndex index;
  Kernel::index_structure(input.data(), input.size(), index);
  outputs.tokens.assign(index.positions(), index.positions() + index.token_count() + 1);
  for (size_t start = 0; start <= input.size() && start < starts; ++start) {
    bool saw_non_ascii = false;
    const char* found =
        Kernel::find_string_special(input.data() + start, input.data() + input.size(), saw_non_ascii);
    outputs.specials.emplace_back(static_cast<size_t>(found - input.data()), saw_non_ascii);
  }
  return outputs;
}

void print_input(const std::string& input) {
  std::fprintf(stderr, "input (%zu bytes):", input.size());
  for (unsigned char byte : input) {
    std::fprintf(stderr, " %02x", byte);
  }
  std::fprintf(stderr, "\n");
}

void print_tokens(const char* kernel, const std::vector<uint32_t>& tokens) {
  std::fprintf(stderr, "%s tokens:", kernel);
  for (uint32_t token : tokens) {
    std::fprintf(stderr, " %u", token);
  }
  std::fprintf(stderr, "\n");
}

size_t compared = 0;

// Every start for short inputs; a few for long ones (the search itself is what varies).
void compare(const std::string& input) {
  const size_t starts = input.size() <= 200 ? input.size() + 1 : 70;
  const Outputs reference = run_kernel<scalar::Kernel>(input, starts);
  const Outputs simd = run_kernel<ActiveKernel>(input, starts);
  ++compared;
  if (reference.valid_utf8 != simd.valid_utf8) {
    print_input(input);
    std::fprintf(stderr, "validate_utf8: scalar %d, %s %d\n", reference.valid_utf8, ActiveKernel::name,
                 simd.valid_utf8);
    std::exit(1);
  }
  if (reference.tokens != simd.tokens) {
    print_input(input);
    print_tokens("scalar", reference.tokens);
    print_tokens(ActiveKernel::name, simd.tokens);
    std::exit(1);
  }
  for (size_t start = 0; start < reference.specials.size(); ++start) {
    if (reference.specials[start] != simd.specials[start]) {
      print_input(input);
      std::fprintf(stderr, "find_string_special from %zu: scalar (%zu, %d), %s (%zu, %d)\n", start,
                   reference.specials[start].first, reference.specials[start].second, ActiveKernel::name,
                   simd.specials[start].first, simd.specials[start].second);
      std::exit(1);
    }
  }
}

// Bytes and sequences where kernels take decisions: quotes and escapes, structure,
// whitespace, control characters, UTF-8 of every length, and malformed UTF-8.
const std::vector<std::string> kInteresting = {
    "\"", "\\", "\\\"", "\\\\\"", "\\\\", "{", "}", "[", "]", ":", ",", " ", "\t", "\n", "\r",
    std::string(1, '\0'), "\x0c", "\x1a", "\x1f", "\x7f", "a", "1", "-", "\xc3\xa9", "\xe2\x82\xac",
    "\xf0\x9d\x84\x9e", "\xef\xbb\xbf", "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xe0\x80\x80",
    "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8", "\xff", "\xe2\x82", "\xf0\x9f\x98",
};

// Surroundings an interesting sequence is dropped into: outside strings, inside one, in a
// number run, in whitespace, in structure.
const std::vector<std::string> kBackgrounds = {"a", " ", "\"", "1", ",", "\\", "\xc3\xa9", "x\""};

std::string repeat_to(const std::string& unit, size_t length) {
  std::string text;
  while (text.size() < length) {
    text += unit;
  }
  text.resize(length);
  return text;
}

void every_position_of_a_block() {
  // Positions 0..129 cover every place in the first two 64-byte blocks (and so every place in
  // a 32- or 16-byte register), with lengths ending before, at and after block boundaries.
  for (const std::string& background : kBackgrounds) {
    for (const std::string& sequence : kInteresting) {
      for (size_t position = 0; position < 130; ++position) {
        for (size_t length : {position + sequence.size(), position + sequence.size() + 1, size_t{64},
                              size_t{128}, size_t{140}}) {
          if (length < position + sequence.size()) {
            continue;
          }
          std::string input = repeat_to(background, length);
          input.replace(position, sequence.size(), sequence);
          compare(input);
          // Inside a string that opened at the very start, too.
          compare("\"" + input);
        }
      }
    }
  }
}

void backslash_runs_across_blocks() {
  for (size_t run = 0; run <= 140; ++run) {
    for (size_t start = 0; start < 70; ++start) {
      const std::string backslashes(run, '\\');
      // In a string, then outside one, then with nothing after the run.
      compare("\"" + std::string(start, 'x') + backslashes + "\"x\",\"y\"]");
      compare(std::string(start, ' ') + backslashes + "\"1\" :[2]");
      compare("[\"" + std::string(start, 'x') + backslashes);
      compare(std::string(start, '"') + backslashes + "\"\"" + backslashes + "\"");
    }
  }
}

// xorshift64*: deterministic, so a failure reproduces everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 2685821657736338717ULL;
  }
  size_t below(size_t bound) { return static_cast<size_t>(next() % bound); }

 private:
  uint64_t state_;
};

const std::vector<std::string> kDocumentPieces = {
    "{", "}", "[", "]", ":", ",", " ", "\n", "\"key\"", "\"", "\\", "\\\"", "\\\\", "\\u00e9", "12",
    "-0.5e+3", "true", "null", "false", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\x01",
    "\x80", "\xff", "\xed\xa0\x80", "abcdefghijklmnopqrstuvwxyz0123456789", "\t\r",
};

void random_inputs(size_t count) {
  Random random(0x9E3779B97F4A7C15ULL);
  for (size_t case_number = 0; case_number < count; ++case_number) {
    std::string input;
    const size_t pieces = random.below(case_number % 16 == 0 ? 400 : 60);
    const bool raw_bytes = case_number % 5 == 0;
    for (size_t piece = 0; piece < pieces; ++piece) {
      if (raw_bytes) {
        input.push_back(static_cast<char>(random.next() >> 56));
      } else {
        input += kDocumentPieces[random.below(kDocumentPieces.size())];
      }
    }
    compare(input);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long scale = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1;
  every_position_of_a_block();
  backslash_runs_across_blocks();
  random_inputs(static_cast<size_t>(20000 * (scale > 0 ? scale : 1)));
  std::printf("kernel comparison, scalar against %s: %zu inputs compared, no difference\n",
              ActiveKernel::name, compared);
  return 0;
}
