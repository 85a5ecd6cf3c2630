#include <gtest/gtest.h>

#include <sys/stat.h>

#include "bpfsign/common/checked_math.hpp"
#include "bpfsign/common/file_io.hpp"
#include "test_support.hpp"

namespace bpfsign {
namespace {

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemporaries) {
  auto dir = test::temp_dir();
  auto path = dir / "out.bin";
  std::vector<std::uint8_t> a{1, 2, 3}, b{4, 5};
  ASSERT_TRUE(write_file_atomic(path, a).ok());
  ASSERT_TRUE(write_file_atomic(path, b).ok());
  auto back = read_file(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, b);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  std::filesystem::remove_all(dir);
}

TEST(FileIo, FailedWriteNamesThePathAndLeavesNothing) {
  auto dir = test::temp_dir();
  auto path = dir / "missing-dir" / "out.bin";
  auto st = write_file_atomic(path, std::vector<std::uint8_t>{1});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(path.string()), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

TEST(FileIo, ReadErrorsNameTheFile) {
  auto r = read_file("/nonexistent/bpfsign");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Io);
  EXPECT_NE(r.error().message.find("/nonexistent/bpfsign"), std::string::npos);
  auto d = read_file("/");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("not a regular file"), std::string::npos);
}

TEST(CheckedMath, DetectsOverflow) {
  EXPECT_FALSE(checked_add(UINT64_MAX, 1).has_value());
  EXPECT_FALSE(checked_mul(UINT64_MAX / 2, 3).has_value());
  EXPECT_EQ(checked_add(2, 3), 5u);
  EXPECT_TRUE(range_fits(0, 8, 8));
  EXPECT_FALSE(range_fits(1, 8, 8));
  EXPECT_FALSE(range_fits(UINT64_MAX, 2, 8));
}

}  // namespace
}  // namespace bpfsign

namespace bpfsign {
namespace {

TEST(FileIo, KeepRefusesToReplaceAndLeavesBothFiles) {
  auto dir = test::temp_dir();
  auto path = dir / "key.pem";
  const std::vector<std::uint8_t> old{1, 2, 3}, fresh{9};
  ASSERT_TRUE(write_file_atomic(path, old).ok());
  auto refused = write_file_atomic(path, fresh, 0644, Existing::Keep);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Usage);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos) << refused.error().message;
  EXPECT_EQ(*read_file(path), old);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "a refused write left its temporary file";
  ASSERT_TRUE(write_file_atomic(dir / "new.pem", fresh, 0644, Existing::Keep).ok());
  EXPECT_EQ(*read_file(dir / "new.pem"), fresh);
}

TEST(FileIo, AStagedFileNotCommittedLeavesNothing) {
  auto dir = test::temp_dir();
  {
    auto staged = StagedFile::write(dir / "cert.pem", std::vector<std::uint8_t>{4, 5}, 0644);
    ASSERT_TRUE(staged.ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
}  // namespace bpfsign
