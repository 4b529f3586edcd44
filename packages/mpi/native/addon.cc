// Node-API binding to the few MPI collectives data-parallel training needs.
//
// Every collective is started non-blocking (MPI_I*) and completed by a polling loop, so that a wait can
// notice what a blocking MPI call never would: a peer process on this host that has died, a configured
// timeout, and SIGINT/SIGTERM (which the launcher sends to every survivor when a rank dies). Errors are
// returned (MPI_ERRORS_RETURN) and thrown as JS errors; the process is never left hanging.
#include <dlfcn.h>
#include <errno.h>
#include <mpi.h>
#include <napi.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool initialized = false;
bool finalized = false;
int worldRank = 0;
int worldSize = 1;
std::string hostName;
std::vector<pid_t> peerPids;       // pid of every rank
std::vector<bool> peerLocal;       // rank runs on this host (its pid can be checked)
double timeoutSeconds = 0;         // 0: no timeout
volatile sig_atomic_t pendingSignal = 0;

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::string errorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, len);
}

Napi::Error mpiError(Napi::Env env, const std::string& what, int code) {
  return Napi::Error::New(env, "@lm/mpi: " + what + " failed on rank " + std::to_string(worldRank) + ": " + errorText(code));
}

// A JS error with a `code` and, for a dead peer, the peer's `rank`.
Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message, int peer = -1) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  if (peer >= 0) e.Set("rank", Napi::Number::New(env, peer));
  return e;
}

void requireInit(Napi::Env env) {
  if (!initialized || finalized) {
    throw codedError(env, "LM_MPI_NOT_INITIALIZED", finalized ? "@lm/mpi: MPI is finalized" : "@lm/mpi: call init() first");
  }
}

// A process is alive when it exists and is not a zombie (killed, not yet reaped by the launcher).
bool processAlive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (!f) return errno != ENOENT;
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* close = std::strrchr(buf, ')');  // "pid (comm) state ..."
  return !(close && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X'));
}

// -1 until init has exchanged every rank's pid and host (peerLocal is filled last).
int firstDeadPeer() {
  if (peerLocal.size() != static_cast<size_t>(worldSize)) return -1;
  for (int r = 0; r < worldSize; r++) {
    if (r != worldRank && peerLocal[r] && !processAlive(peerPids[r])) return r;
  }
  return -1;
}

void onSignal(int sig) { pendingSignal = sig; }

// Catches SIGINT/SIGTERM for the duration of a wait; afterwards restores the previous handlers and, if a
// signal arrived and nothing failed, raises it again so that its usual handler (Node's, the default) runs.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt_);
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
    if (pendingSignal && redeliver_) {
      int sig = pendingSignal;
      pendingSignal = 0;
      raise(sig);
    }
  }
  void dropSignal() { redeliver_ = false; }

 private:
  struct sigaction oldInt_, oldTerm_;
  bool redeliver_ = true;
};

// Completes `req`, checking every 20 ms (and at once on a signal) for dead local peers and the timeout.
void waitFor(Napi::Env env, MPI_Request* req, const std::string& what) {
  SignalGuard guard;
  const double start = now();
  double lastCheck = start;
  long spins = 0;
  for (;;) {
    int done = 0;
    int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) throw mpiError(env, what, rc);
    if (done) return;
    if (++spins > 200) {
      if (spins < 20000) sched_yield();
      else usleep(100);
    }
    const double t = now();
    if (t - lastCheck >= 0.02 || pendingSignal) {
      lastCheck = t;
      int dead = firstDeadPeer();
      if (dead >= 0) {
        guard.dropSignal();
        throw codedError(env, "LM_MPI_PEER_DIED",
                         "@lm/mpi: rank " + std::to_string(dead) + " (pid " + std::to_string(peerPids[dead]) + " on " + hostName +
                             ") died; rank " + std::to_string(worldRank) + " stopped in " + what + " after " +
                             std::to_string(static_cast<int>((t - start) * 1000)) + " ms",
                         dead);
      }
      if (timeoutSeconds > 0 && t - start > timeoutSeconds) {
        guard.dropSignal();
        throw codedError(env, "LM_MPI_TIMEOUT",
                         "@lm/mpi: " + what + " on rank " + std::to_string(worldRank) + " did not complete within " +
                             std::to_string(timeoutSeconds) + " s (LM_MPI_TIMEOUT): a peer rank is stuck or unreachable");
      }
    }
  }
}

struct Typed {
  void* data;
  int count;
  MPI_Datatype type;
  size_t bytes;
};

Typed typedArg(Napi::Env env, const Napi::Value& v, const char* fn) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, std::string("@lm/mpi: ") + fn + " expects a Float32Array, Float64Array or Int32Array");
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  MPI_Datatype t;
  switch (a.TypedArrayType()) {
    case napi_float32_array: t = MPI_FLOAT; break;
    case napi_float64_array: t = MPI_DOUBLE; break;
    case napi_int32_array: t = MPI_INT; break;
    case napi_uint8_array: t = MPI_BYTE; break;
    default: throw Napi::TypeError::New(env, std::string("@lm/mpi: ") + fn + " expects a Float32Array, Float64Array, Int32Array or Uint8Array");
  }
  if (a.ElementLength() > 0x7fffffff) throw Napi::RangeError::New(env, std::string("@lm/mpi: ") + fn + ": more than 2^31-1 elements");
  uint8_t* base = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return {base, static_cast<int>(a.ElementLength()), t, a.ByteLength()};
}

// init(): MPI_Init_thread (funneled), errors returned, peers' pids and hosts exchanged.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (finalized) throw codedError(env, "LM_MPI_FINALIZED", "@lm/mpi: MPI was finalized and cannot be initialised again");
  if (!initialized) {
    // Open MPI loads its components with dlopen; they resolve libmpi's symbols only if it is global.
    dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      int provided = 0;
      int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      if (rc != MPI_SUCCESS) throw codedError(env, "LM_MPI_INIT", "@lm/mpi: MPI_Init_thread failed: " + errorText(rc));
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
    MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
    char name[MPI_MAX_PROCESSOR_NAME + 1] = {0};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    hostName.assign(name, len);
    initialized = true;

    // Every rank's pid and host: a wait checks whether local peers are still alive.
    std::vector<char> hosts(static_cast<size_t>(worldSize) * (MPI_MAX_PROCESSOR_NAME + 1), 0);
    std::vector<char> mine(MPI_MAX_PROCESSOR_NAME + 1, 0);
    std::memcpy(mine.data(), hostName.data(), hostName.size());
    peerPids.assign(worldSize, 0);
    int pid = static_cast<int>(getpid());
    MPI_Request reqs[2];
    int rc = MPI_Iallgather(&pid, 1, MPI_INT, peerPids.data(), 1, MPI_INT, MPI_COMM_WORLD, &reqs[0]);
    if (rc != MPI_SUCCESS) throw mpiError(env, "init (exchanging pids)", rc);
    waitFor(env, &reqs[0], "init (exchanging pids)");
    rc = MPI_Iallgather(mine.data(), MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR, hosts.data(), MPI_MAX_PROCESSOR_NAME + 1, MPI_CHAR,
                        MPI_COMM_WORLD, &reqs[1]);
    if (rc != MPI_SUCCESS) throw mpiError(env, "init (exchanging hosts)", rc);
    waitFor(env, &reqs[1], "init (exchanging hosts)");
    peerLocal.assign(worldSize, false);
    for (int r = 0; r < worldSize; r++) peerLocal[r] = hostName == std::string(&hosts[r * (MPI_MAX_PROCESSOR_NAME + 1)]);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", worldRank);
  o.Set("size", worldSize);
  o.Set("host", hostName);
  return o;
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (initialized && !finalized) {
    MPI_Finalize();
    finalized = true;
  }
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char lib[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(lib, &len);
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  Napi::Object o = Napi::Object::New(env);
  o.Set("library", std::string(lib, len));
  o.Set("standard", std::to_string(major) + "." + std::to_string(minor));
  o.Set("initialized", initialized && !finalized);
  o.Set("rank", worldRank);
  o.Set("size", worldSize);
  o.Set("host", hostName);
  return o;
}

Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
  timeoutSeconds = info[0].As<Napi::Number>().DoubleValue();
  return info.Env().Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  MPI_Request req;
  int rc = MPI_Ibarrier(MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) throw mpiError(env, "barrier", rc);
  waitFor(env, &req, "barrier");
  return env.Undefined();
}

// allreduce(array, op): in place; op 0 sum, 1 max, 2 min.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  Typed a = typedArg(env, info[0], "allreduce");
  if (a.type == MPI_BYTE) throw Napi::TypeError::New(env, "@lm/mpi: allreduce expects a Float32Array, Float64Array or Int32Array");
  int op = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 0;
  MPI_Op mop = op == 1 ? MPI_MAX : op == 2 ? MPI_MIN : MPI_SUM;
  if (a.count == 0) return env.Undefined();
  MPI_Request req;
  int rc = MPI_Iallreduce(MPI_IN_PLACE, a.data, a.count, a.type, mop, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) throw mpiError(env, "allreduce", rc);
  waitFor(env, &req, "allreduce of " + std::to_string(a.count) + " values");
  return env.Undefined();
}

// broadcast(array, root): in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  Typed a = typedArg(env, info[0], "broadcast");
  int root = info[1].As<Napi::Number>().Int32Value();
  if (root < 0 || root >= worldSize) throw Napi::RangeError::New(env, "@lm/mpi: broadcast root " + std::to_string(root) + " is not a rank");
  if (a.bytes == 0) return env.Undefined();
  MPI_Request req;
  int rc = MPI_Ibcast(a.data, static_cast<int>(a.bytes), MPI_BYTE, root, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) throw mpiError(env, "broadcast", rc);
  waitFor(env, &req, "broadcast");
  return env.Undefined();
}

// allgather(bytes): every rank's Uint8Array (any lengths), in rank order.
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInit(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "@lm/mpi: allgather expects a Uint8Array");
  }
  Napi::Uint8Array mine = info[0].As<Napi::Uint8Array>();
  if (mine.ByteLength() > (1u << 30)) throw Napi::RangeError::New(env, "@lm/mpi: allgather is for small buffers (at most 1 GiB)");
  int len = static_cast<int>(mine.ByteLength());
  std::vector<int> lens(worldSize, 0);
  MPI_Request req;
  int rc = MPI_Iallgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) throw mpiError(env, "allgather (lengths)", rc);
  waitFor(env, &req, "allgather (lengths)");
  std::vector<int> offsets(worldSize, 0);
  long total = 0;
  for (int r = 0; r < worldSize; r++) {
    offsets[r] = static_cast<int>(total);
    total += lens[r];
  }
  if (total > 0x7fffffff) throw Napi::RangeError::New(env, "@lm/mpi: allgather: more than 2 GiB in total");
  Napi::ArrayBuffer all = Napi::ArrayBuffer::New(env, total > 0 ? total : 1);
  rc = MPI_Iallgatherv(mine.Data(), len, MPI_BYTE, all.Data(), lens.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) throw mpiError(env, "allgather", rc);
  waitFor(env, &req, "allgather");
  Napi::Array out = Napi::Array::New(env, worldSize);
  for (int r = 0; r < worldSize; r++) out.Set(r, Napi::Uint8Array::New(env, lens[r], all, offsets[r]));
  return out;
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  _exit(code);
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setTimeout", Napi::Function::New(env, SetTimeout));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("allgather", Napi::Function::New(env, Allgather));
  exports.Set("abort", Napi::Function::New(env, Abort));
  return exports;
}

}  // namespace

NODE_API_MODULE(lm_mpi, InitModule)
