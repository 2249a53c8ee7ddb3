// Scalar kernel: the structural index, one byte at a time (string bodies a word at a time).
#include "json/scalar/kernel.h"

namespace lamina::json::scalar {

namespace {

enum ByteClass : unsigned char { kOther = 0, kWhitespace, kStructural, kQuote };

struct ByteClassTable {
  ByteClass of[256];
  constexpr ByteClassTable() : of() {
    for (int byte = 0; byte < 256; ++byte) {
      of[byte] = kOther;
    }
    of[static_cast<unsigned char>(' ')] = kWhitespace;
    of[static_cast<unsigned char>('\t')] = kWhitespace;
    of[static_cast<unsigned char>('\n')] = kWhitespace;
    of[static_cast<unsigned char>('\r')] = kWhitespace;
    const char structurals[] = {'{', '}', '[', ']', ':', ','};
    for (char structural : structurals) {
      of[static_cast<unsigned char>(structural)] = kStructural;
    }
    of[static_cast<unsigned char>('"')] = kQuote;
  }
};

constexpr ByteClassTable kByteClasses;

// Offset just past the closing quote of the string whose contents start at `offset`, or
// `length` when the string is unterminated.
size_t skip_string(const char* data, size_t offset, size_t length) {
  const char* const limit = data + length;
  const char* cursor = data + offset;
  bool saw_non_ascii = false;  // Not needed here; the primitive reports it anyway.
  while (true) {
    cursor = find_string_special(cursor, limit, saw_non_ascii);
    if (cursor == limit) {
      return length;
    }
    if (*cursor == '"') {
      return static_cast<size_t>(cursor - data) + 1;
    }
    if (*cursor == '\\') {
      // Whatever follows a backslash is escaped, a quote included.
      if (limit - cursor < 2) {
        return length;
      }
      cursor += 2;
    } else {
      ++cursor;  // A control character: stage 2 rejects it; the string goes on.
    }
  }
}

}  // namespace

void index_structure(const char* data, size_t length, StructuralIndex& index) {
  index.prepare(length);
  uint32_t* const first = index.positions();
  uint32_t* out = first;
  size_t offset = 0;
  while (offset < length) {
    switch (kByteClasses.of[static_cast<unsigned char>(data[offset])]) {
      case kWhitespace:
        ++offset;
        break;
      case kStructural:
        *out++ = static_cast<uint32_t>(offset);
        ++offset;
        break;
      case kQuote:
        *out++ = static_cast<uint32_t>(offset);
        offset = skip_string(data, offset + 1, length);
        break;
      case kOther: {
        // Every run of other bytes ends at whitespace, structure, an unescaped quote or the
        // end, so the loop only ever meets the first byte of a run here. A run's backslashes
        // all belong to it (they are other bytes too), so it alone knows if a quote is escaped.
        *out++ = static_cast<uint32_t>(offset);
        bool escapes_next = false;  // The byte just passed ends an odd run of backslashes.
        while (true) {
          escapes_next = data[offset] == '\\' && !escapes_next;
          ++offset;
          if (offset == length) {
            break;
          }
          const ByteClass next = kByteClasses.of[static_cast<unsigned char>(data[offset])];
          if (next != kOther && !(next == kQuote && escapes_next)) {
            break;
          }
        }
        break;
      }
    }
  }
  *out = static_cast<uint32_t>(length);
  index.set_token_count(static_cast<size_t>(out - first));
}

}  // namespace lamina::json::scalar
