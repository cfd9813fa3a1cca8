// AcceptGuard: keeps a listening TCP socket from spinning its event loop when the process has
// no file descriptor left (RELIABILITY.md row P8).
//
// libre's listener calls accept() whenever its socket is readable. Out of descriptors, accept()
// fails with EMFILE and leaves the connection queued, so the socket stays readable and the loop
// spins at full CPU until a descriptor frees up. check(), run from a timer on the listener's
// thread, notices that state and drains the queue with one descriptor held in reserve: close
// the reserve, accept the connection, close it (the peer sees its connection closed at once),
// open the reserve again. With descriptors to spare it does nothing and libre accepts as usual.
#pragma once

#include <cstdint>

namespace callflow::sip {

class AcceptGuard {
 public:
  AcceptGuard() = default;
  ~AcceptGuard();
  AcceptGuard(const AcceptGuard&) = delete;
  AcceptGuard& operator=(const AcceptGuard&) = delete;

  // Finds the process's listening TCP socket on `port` (IPv4 or IPv6) and opens the reserve.
  // False when there is none (check() then does nothing).
  bool attach(std::uint16_t port);
  // Refuses the connections queued while no descriptor is left; returns how many.
  int check();

 private:
  int listen_fd_ = -1;  // libre's: never closed here
  int reserve_ = -1;
};

}  // namespace callflow::sip
