#include "kernels/phase_timer.h"

#include "kernels/cuda_api.h"

namespace metta::kernels {

PhaseTimer::PhaseTimer(const Context& ctx, std::vector<std::string> phase_names)
    : ctx_(ctx), names_(std::move(phase_names)), seconds_(names_.size(), 0.0) {
  if (ctx_.device == Device::CUDA)
    for (std::size_t i = 0; i <= names_.size(); ++i) events_.push_back(cuda_api::event_create());
}

PhaseTimer::~PhaseTimer() {
  for (void* e : events_) cuda_api::event_destroy_nothrow(e);
}

int PhaseTimer::phase_of(const std::string& name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<int>(i);
  METTA_FAIL("PhaseTimer: no phase '" << name << "'");
}

void PhaseTimer::begin_round() {
  order_.clear();
  times_.clear();
  if (ctx_.device == Device::CUDA) cuda_api::event_record(events_[0], ctx_.stream);
  else times_.push_back(std::chrono::steady_clock::now());
}

void PhaseTimer::end_phase(int phase) {
  METTA_CHECK(phase >= 0 && phase < static_cast<int>(names_.size()), "PhaseTimer: phase " << phase);
  METTA_CHECK(order_.size() < names_.size(), "PhaseTimer: more marks than phases in one round");
  order_.push_back(phase);
  if (ctx_.device == Device::CUDA) cuda_api::event_record(events_[order_.size()], ctx_.stream);
  else times_.push_back(std::chrono::steady_clock::now());
}

void PhaseTimer::end_round() {
  for (std::size_t i = 0; i < order_.size(); ++i) {
    const double s = ctx_.device == Device::CUDA
                         ? cuda_api::event_elapsed_ms(events_[i], events_[i + 1]) * 1e-3
                         : std::chrono::duration<double>(times_[i + 1] - times_[i]).count();
    seconds_[static_cast<std::size_t>(order_[i])] += s;
  }
  ++rounds_;
}

}  // namespace metta::kernels
