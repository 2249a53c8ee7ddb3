// Per-document cache of object keys: batches of records repeat the same keys thousands of
// times, and one str per distinct key saves the allocation, the decoding and (since a str
// caches its hash) the hashing of every repeat.
#pragma once

#include <Python.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace lamina::json {

// Equality of two short byte strings of the same length, inline: keys are a few bytes long,
// shorter than a call to memcmp.
inline bool equal_key_bytes(const char* left, const char* right, size_t length) noexcept {
  if (length >= 8) {
    uint64_t a;
    uint64_t b;
    for (size_t offset = 0; offset + 8 < length; offset += 8) {
      std::memcpy(&a, left + offset, 8);
      std::memcpy(&b, right + offset, 8);
      if (a != b) {
        return false;
      }
    }
    std::memcpy(&a, left + length - 8, 8);
    std::memcpy(&b, right + length - 8, 8);
    return a == b;
  }
  if (length >= 4) {
    uint32_t a0, b0, a1, b1;
    std::memcpy(&a0, left, 4);
    std::memcpy(&b0, right, 4);
    std::memcpy(&a1, left + length - 4, 4);
    std::memcpy(&b1, right + length - 4, 4);
    return a0 == b0 && a1 == b1;
  }
  for (size_t index = 0; index < length; ++index) {
    if (left[index] != right[index]) {
      return false;
    }
  }
  return true;
}

class KeyCache {
 public:
  // Longer keys are rarely repeated and cost more to compare than to build.
  static constexpr size_t kMaxKeyLength = 64;
  // Bounds the table for documents with many distinct keys (a map keyed by ids).
  static constexpr size_t kMaxEntries = 4096;

  KeyCache() = default;
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;
  ~KeyCache() { clear(); }

  static uint64_t hash(const char* data, size_t length) noexcept {
    // Whole-word loads only (a variable-length copy into a word stalls on store forwarding);
    // short tails are folded wyhash-style. Collisions only cost a memcmp.
    uint64_t hash = 0x9E3779B97F4A7C15ULL ^ length;
    uint64_t tail;
    if (length >= 8) {
      const char* const last_word = data + length - 8;
      for (; data < last_word; data += 8) {
        hash = mix(hash, load64(data));
      }
      tail = load64(last_word);
    } else if (length >= 4) {
      tail = (static_cast<uint64_t>(load32(data)) << 32) | load32(data + length - 4);
    } else if (length > 0) {
      tail = (static_cast<uint64_t>(static_cast<unsigned char>(data[0])) << 16) |
             (static_cast<uint64_t>(static_cast<unsigned char>(data[length / 2])) << 8) |
             static_cast<unsigned char>(data[length - 1]);
    } else {
      tail = 0;
    }
    return mix(hash, tail);
  }

  // The cached str for these raw key bytes (escapes included, so equal bytes mean equal
  // keys), as a new reference, or nullptr.
  PyObject* find(const char* data, size_t length, uint64_t key_hash) const noexcept {
    if (slots_.empty()) {
      return nullptr;
    }
    const size_t mask = slots_.size() - 1;
    for (size_t slot = key_hash & mask;; slot = (slot + 1) & mask) {
      const Slot& candidate = slots_[slot];
      if (candidate.key == nullptr) {
        return nullptr;
      }
      if (candidate.hash == key_hash && candidate.length == length &&
          equal_key_bytes(candidate.data, data, length)) {
        Py_INCREF(candidate.key);
        return candidate.key;
      }
    }
  }

  // Remembers `key` (the cache takes its own reference). `data` must outlive the document.
  void insert(const char* data, size_t length, uint64_t key_hash, PyObject* key) {
    if (used_slots_.size() >= kMaxEntries) {
      return;
    }
    if ((used_slots_.size() + 1) * 2 > slots_.size()) {
      grow();
    }
    const size_t mask = slots_.size() - 1;
    size_t slot = key_hash & mask;
    while (slots_[slot].key != nullptr) {
      slot = (slot + 1) & mask;
    }
    Py_INCREF(key);
    slots_[slot] = Slot{key_hash, data, static_cast<uint32_t>(length), key};
    used_slots_.push_back(static_cast<uint32_t>(slot));
  }

  // Drops the document's keys; keeps the table's memory for the next document.
  void clear() noexcept {
    for (uint32_t slot : used_slots_) {
      Py_DECREF(slots_[slot].key);
      slots_[slot] = Slot{};
    }
    used_slots_.clear();
  }

 private:
  static uint64_t load64(const char* data) noexcept {
    uint64_t word;
    std::memcpy(&word, data, sizeof(word));
    return word;
  }
  static uint32_t load32(const char* data) noexcept {
    uint32_t word;
    std::memcpy(&word, data, sizeof(word));
    return word;
  }
  static uint64_t mix(uint64_t hash, uint64_t word) noexcept {
    hash = (hash ^ word) * 0xBF58476D1CE4E5B9ULL;
    return hash ^ (hash >> 31);
  }

  struct Slot {
    uint64_t hash = 0;
    const char* data = nullptr;
    uint32_t length = 0;
    PyObject* key = nullptr;
  };

  void grow() {
    std::vector<Slot> old_slots(slots_.empty() ? 64 : slots_.size() * 2);
    old_slots.swap(slots_);
    const size_t mask = slots_.size() - 1;
    used_slots_.clear();
    for (const Slot& moved : old_slots) {
      if (moved.key == nullptr) {
        continue;
      }
      size_t slot = moved.hash & mask;
      while (slots_[slot].key != nullptr) {
        slot = (slot + 1) & mask;
      }
      slots_[slot] = moved;
      used_slots_.push_back(static_cast<uint32_t>(slot));
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> used_slots_;
};

// Keys seen by earlier documents: a Lambda function gets the same event shape on every
// invocation, so a small event's keys are usually already built (and hashed: a str caches
// its hash, so dicts built from these keys skip SipHash). Bounded: two candidate slots per
// key, and a new key replaces the one in its second slot when both are taken.
// Sharing a str between results is invisible to Python code, as strs are immutable.
class RecentKeys {
 public:
  // Short keys only: the ones events repeat (AWS's longest, such as SQS's
  // "ApproximateFirstReceiveTimestamp", fit), stored inline so nothing points into a
  // document that is gone. 512 slots of 64 bytes: 32 KB.
  static constexpr size_t kMaxKeyLength = 40;
  static constexpr size_t kSlots = 512;

  RecentKeys() = default;
  RecentKeys(const RecentKeys&) = delete;
  RecentKeys& operator=(const RecentKeys&) = delete;
  ~RecentKeys() {
    // The process-wide instance is destroyed after the interpreter, when its strs are gone
    // with it; a short-lived instance (a re-entrant decode) drops its references.
    if (!Py_IsInitialized()) {
      return;
    }
    for (Slot& slot : slots_) {
      Py_XDECREF(slot.key);
    }
  }

  // The str for these raw key bytes as a new reference, or nullptr.
  PyObject* find(const char* data, size_t length, uint64_t key_hash) const noexcept {
    for (const Slot* slot : {&slots_[first_slot(key_hash)], &slots_[second_slot(key_hash)]}) {
      if (slot->key != nullptr && slot->hash == key_hash && slot->length == length &&
          equal_key_bytes(slot->bytes, data, length)) {
        Py_INCREF(slot->key);
        return slot->key;
      }
    }
    return nullptr;
  }

  void insert(const char* data, size_t length, uint64_t key_hash, PyObject* key) noexcept {
    if (length > kMaxKeyLength) {
      return;
    }
    // Each key has two candidate slots: two keys of one event that share a first slot both
    // stay (a single slot would rebuild, and rehash, one of them on every invocation).
    Slot* target = &slots_[first_slot(key_hash)];
    if (target->key != nullptr) {
      target = &slots_[second_slot(key_hash)];
    }
    Slot& slot = *target;
    Py_INCREF(key);
    Py_XDECREF(slot.key);  // A str: its deallocation runs no Python code.
    slot.key = key;
    slot.hash = key_hash;
    slot.length = static_cast<uint32_t>(length);
    std::memcpy(slot.bytes, data, length);
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    PyObject* key = nullptr;
    uint32_t length = 0;
    char bytes[kMaxKeyLength] = {};
  };

  static size_t first_slot(uint64_t key_hash) noexcept { return key_hash % kSlots; }
  static size_t second_slot(uint64_t key_hash) noexcept { return (key_hash >> 32) % kSlots; }

  Slot slots_[kSlots];
};

}  // namespace lamina::json
