// Per-process scratch memory reused from one call to the next (the codec runs under the GIL,
// one document at a time). A call that starts while another is running on the same
// thread — a __del__ run by the garbage collector during decoding can decode too — gets a
// fresh instance instead of sharing the busy one.
#pragma once

#include <memory>

namespace lamina::json {

template <class Workspace>
class ReusableWorkspace {
 public:
  class Lease {
   public:
    explicit Lease(ReusableWorkspace& owner) : owner_(owner) {
      if (owner_.busy_) {
        private_ = std::make_unique<Workspace>();
        workspace_ = private_.get();
      } else {
        owner_.busy_ = true;
        workspace_ = &owner_.shared_;
      }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      workspace_->trim();
      if (!private_) {
        owner_.busy_ = false;
      }
    }
    Workspace& operator*() const noexcept { return *workspace_; }
    Workspace* operator->() const noexcept { return workspace_; }

   private:
    ReusableWorkspace& owner_;
    std::unique_ptr<Workspace> private_;
    Workspace* workspace_;
  };

 private:
  Workspace shared_;
  bool busy_ = false;
};

}  // namespace lamina::json
