#include "dnstap/dnstap_log.hpp"

#include <fcntl.h>
#include <fstrm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <stdexcept>
#include <thread>

#include "util/log.hpp"

namespace diresolver {
namespace {

constexpr char content_type[] = "protobuf:dnstap.Dnstap";

template <typename T, void (*Destroy)(T**)>
struct Owned {
  T* ptr;
  ~Owned() {
    if (ptr) Destroy(&ptr);
  }
};

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "diresolver";
  return name;
}

// fstrm opens the file in its own thread and says nothing when it cannot, so
// the path is tried here first, where the error can still be told.
void create_file(const std::string& path, dev_t& device, ino_t& inode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) throw std::runtime_error("dnstap.file " + path + ": " + std::strerror(errno));
  struct stat st {};
  fstat(fd, &st);
  ::close(fd);
  device = st.st_dev;
  inode = st.st_ino;
}

fstrm_writer* make_writer(const DnstapSettings& settings) {
  Owned<fstrm_writer_options, fstrm_writer_options_destroy> options{fstrm_writer_options_init()};
  fstrm_writer_options_add_content_type(options.ptr, content_type, sizeof content_type - 1);
  if (!settings.file.empty()) {
    Owned<fstrm_file_options, fstrm_file_options_destroy> file{fstrm_file_options_init()};
    fstrm_file_options_set_file_path(file.ptr, settings.file.c_str());
    return fstrm_file_writer_init(file.ptr, options.ptr);
  }
  Owned<fstrm_unix_writer_options, fstrm_unix_writer_options_destroy> unix{fstrm_unix_writer_options_init()};
  fstrm_unix_writer_options_set_socket_path(unix.ptr, settings.socket.c_str());
  return fstrm_unix_writer_init(unix.ptr, options.ptr);
}

}  // namespace

DnstapLog::DnstapLog(const DnstapSettings& settings, unsigned queues)
    : settings_(settings),
      identity_(settings.identity.empty() ? host_name() : settings.identity),
      version_(settings.version.empty() ? std::string("diresolver ") + DIRESOLVER_VERSION : settings.version),
      queues_(queues) {
  if (!settings.file.empty()) create_file(settings.file, file_device_, file_inode_);
  fstrm_writer* writer = make_writer(settings);
  if (!writer) throw std::runtime_error("dnstap: cannot make the Frame Streams writer");
  Owned<fstrm_iothr_options, fstrm_iothr_options_destroy> options{fstrm_iothr_options_init()};
  fstrm_iothr_options_set_num_input_queues(options.ptr, queues);
  fstrm_iothr_options_set_input_queue_size(options.ptr, settings.queue_size);
  fstrm_iothr_options_set_queue_model(options.ptr, FSTRM_IOTHR_QUEUE_MODEL_SPSC);  // one worker per queue
  thread_ = fstrm_iothr_init(options.ptr, &writer);
  if (!thread_) {
    fstrm_writer_destroy(&writer);
    throw std::runtime_error("dnstap: cannot start the Frame Streams I/O thread");
  }
}

// fstrm's close waits until the output took what the queues hold, and a
// collector that stopped reading would make it wait forever (and with it a
// reload or the shutdown): it gets a bounded time, then the rest is given up.
DnstapLog::~DnstapLog() {
  if (!thread_) return;
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  std::thread([thread = thread_, closed]() mutable {
    fstrm_iothr_destroy(&thread);
    closed->set_value();
  }).detach();
  if (done.wait_for(std::chrono::milliseconds(close_timeout_ms)) == std::future_status::timeout)
    log::warn("dnstap: ", output(), " did not take the last messages within ", close_timeout_ms,
              " ms; closed without them");
}

std::string DnstapLog::output() const {
  return settings_.file.empty() ? "socket " + settings_.socket : "file " + settings_.file;
}

fstrm_iothr_queue* DnstapLog::queue(unsigned index) const {
  return index < queues_ ? fstrm_iothr_get_input_queue_idx(thread_, index) : nullptr;
}

bool DnstapLog::serves(const DnstapSettings& settings) const {
  bool same_output = settings.file == settings_.file && settings.socket == settings_.socket;
  return same_output && (settings.file.empty() || file_is_ours());
}

bool DnstapLog::file_is_ours() const {
  struct stat st {};
  return ::stat(settings_.file.c_str(), &st) == 0 && st.st_dev == file_device_ && st.st_ino == file_inode_;
}

}  // namespace diresolver
