// ar::Extractor (src/archive/extract.cpp, reader.cpp, index.cpp): a checkpoint archive as
// `gpucr restore --import FILE|-` and `gpucr inspect FILE` read it: libarchive's tar reader over
// zstd, gzip or no compression, gpucr's index (the first member), each member checked against it
// (name, kind, size, CRC-32) and refused when it is a link, device, fifo, has special mode bits or
// an unsafe name; then the extraction into a scratch directory. And decode_index on its own, on
// the input as an index's text (the fuzzer can't forge the CRC-32s that guard the members).
// Properties: a refusal is bad input (exit 3), never an internal error, and leaves the target
// directory empty; an extraction writes only regular files directly in the target directory, as
// many as it reports; a decoded index encodes and decodes to the same entries.
#include "archive/extract.hpp"
#include "fuzz_support.hpp"
#include "util/fd.hpp"

#include <sys/mman.h>
#include <unistd.h>

using namespace gpucr;
namespace fs = std::filesystem;
namespace ar = gpucr::archive;  // `archive` alone is also libarchive's struct

namespace {

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    FUZZ_CHECK(it->is_regular_file() && !it->is_symlink());
    ++n;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::as_text(data, size);

  // The index parser by itself.
  if (auto idx = ar::decode_index(bytes, "index")) {
    auto again = ar::decode_index(ar::encode_index(*idx), "index (re-encoded)");
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(ar::encode_index(*again) == ar::encode_index(*idx));
  } else {
    FUZZ_CHECK(idx.error().exit == Exit::bad_input);
  }

  // The whole archive, read from a file descriptor as --import reads a file or a pipe.
  static const fs::path out = fuzz::private_dir() / "extract";
  std::error_code ec;
  fs::remove_all(out, ec);
  UniqueFd fd(::memfd_create("fuzz-archive", MFD_CLOEXEC));
  FUZZ_CHECK(fd.get() >= 0);
  for (size_t off = 0; off < size;) {
    ssize_t n = ::write(fd.get(), data + off, size - off);
    FUZZ_CHECK(n > 0);
    off += static_cast<size_t>(n);
  }
  FUZZ_CHECK(::lseek(fd.get(), 0, SEEK_SET) == 0);
  auto ex = ar::Extractor::open(fd.get(), "fuzz.tar", "checkpoint/gpucr-manifest");
  if (!ex) {
    FUZZ_CHECK(ex.error().exit == Exit::bad_input || ex.error().exit == Exit::failed);
    FUZZ_CHECK(!fs::exists(out));
    return 0;
  }
  ar::ExtractOptions o;
  o.dir = out;
  auto r = ex->extract(o);
  if (!r) {
    FUZZ_CHECK(r.error().exit != Exit::internal);
    FUZZ_CHECK(!fs::exists(out) || count_entries(out) == 0);
    return 0;
  }
  FUZZ_CHECK(count_entries(out) == r->files_written);
  return 0;
}
