#include "sip/accept_guard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace callflow::sip {
namespace {

constexpr int kMostPerCheck = 256;  // connections refused in one check, at most

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

bool listensOn(int fd, std::uint16_t port) {
  int listening = 0, type = 0;
  socklen_t size = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
    return false;
  }
  size = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM) {
    return false;
  }
  sockaddr_storage address{};
  size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return false;
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port) == port;
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port) == port;
  }
  return false;
}

}  // namespace

AcceptGuard::~AcceptGuard() {
  if (reserve_ >= 0) ::close(reserve_);
}

bool AcceptGuard::attach(std::uint16_t port) {
  DIR* fds = ::opendir("/proc/self/fd");
  if (fds == nullptr) return false;
  while (dirent* entry = ::readdir(fds)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(fds)) continue;
    if (listensOn(static_cast<int>(fd), port)) {
      listen_fd_ = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(fds);
  if (listen_fd_ >= 0 && reserve_ < 0) reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return listen_fd_ >= 0;
}

int AcceptGuard::check() {
  if (listen_fd_ < 0 || !readable(listen_fd_)) return 0;
  // A descriptor to spare: libre's own accept() will take the connection.
  int probe = ::fcntl(listen_fd_, F_DUPFD_CLOEXEC, 0);
  if (probe >= 0) {
    ::close(probe);
    return 0;
  }
  if (errno != EMFILE && errno != ENFILE) return 0;
  int refused = 0;
  while (refused < kMostPerCheck && readable(listen_fd_)) {
    if (reserve_ >= 0) {
      ::close(reserve_);
      reserve_ = -1;
    }
    int connection = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (connection < 0) break;
    ::close(connection);
    ++refused;
    reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (reserve_ < 0) reserve_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return refused;
}

}  // namespace callflow::sip
