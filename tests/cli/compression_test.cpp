// --compressed on both transports, through the CLI against the fault server's /gzip endpoint:
// each coding decodes byte-exact, the decoded body matches the head the pipeline checks, and a
// decompression bomb fails with body_too_large (exit 6) at a bounded peak RSS.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include <fetchpipe/tools/fault_server.hpp>

#include "child_process.hpp"
#include "mini_json.hpp"

namespace fetchpipe::test {
namespace {

using namespace std::chrono_literals;
const std::string kCli = FETCHPIPE_CLI_PATH;

class CompressionTest : public ::testing::TestWithParam<std::string> {
 protected:
  ChildResult get(std::vector<std::string> args, ChildOptions options = {}) {
    std::vector<std::string> argv{kCli, "get", "--transport", GetParam()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_child(argv, 60s, options);
  }
  tools::FaultServer server_;
};

TEST_P(CompressionTest, EachCodingDecodesByteExact) {
  const auto plain = get({server_.url("/bytes?n=300000")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  // What each transport decodes: curl (Debian's libcurl 7.88) all four, cpp-httplib 0.11 no zstd.
  std::vector<std::string> codings{"gzip", "deflate", "br"};
  if (GetParam() == "curl") codings.push_back("zstd");
  for (const auto& coding : codings) {
    const auto r = get({"--compressed", "--json", server_.url(fmt::format("/gzip?n=300000&coding={}", coding))});
    EXPECT_EQ(r.exit_code, 0) << coding << "\n" << r.err;
    EXPECT_TRUE(r.out == plain.out) << coding << ": " << r.out.size() << " bytes";
    const auto report = parse_json(r.last_err_line());
    ASSERT_TRUE(report);
    EXPECT_EQ((*report)["bytes"].number(), 300000) << coding;
  }
}

TEST_P(CompressionTest, AnEmptyBodyDecodesToNothing) {
  for (const std::string coding : {"gzip", "br", "zstd"}) {
    if (coding == "zstd" && GetParam() == "httplib") continue;
    const auto r = get({"--compressed", server_.url("/gzip?n=0&coding=" + coding)});
    EXPECT_EQ(r.exit_code, 0) << coding << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << coding;
  }
}

// A coding the transport cannot decode is a clear failure, never the encoded bytes passed off as
// the body: cpp-httplib 0.11 has no zstd decoder (and does not ask for zstd). The httplib
// transport refuses a coding other than identity, gzip, deflate or br as a reset, as libcurl
// does with a coding it cannot decode.
TEST_P(CompressionTest, ZstdOnHttplibIsRefused) {
  if (GetParam() != "httplib") GTEST_SKIP() << "libcurl decodes zstd";
  const auto asked = get({"--compressed", server_.url("/echo")});
  EXPECT_EQ(asked.out.find("zstd"), std::string::npos) << asked.out;
  const auto r = get({"--compressed", "--json", "--max-attempts", "1", server_.url("/gzip?n=1000&coding=zstd")});
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.size() << " bytes written";
  const auto report = parse_json(r.last_err_line());
  ASSERT_TRUE(report) << r.err;
  EXPECT_EQ((*report)["outcome"].string(), "failure");
  EXPECT_EQ((*report)["error"]["kind"].string(), "connection_reset");
  EXPECT_NE((*report)["error"]["message"].string().find("Content-Encoding 'zstd'"), std::string::npos)
      << (*report)["error"]["message"].string();
}

TEST_P(CompressionTest, AcceptEncodingOnlyWhenAsked) {
  const auto off = get({server_.url("/echo")});
  EXPECT_EQ(off.out.find("Accept-Encoding"), std::string::npos) << off.out;
  const auto on = get({"--compressed", server_.url("/echo")});
  EXPECT_NE(on.out.find("header Accept-Encoding: "), std::string::npos) << on.out;
  EXPECT_NE(on.out.find("gzip"), std::string::npos) << on.out;
  // Without --compressed the body is handed on as sent: the gzip bytes themselves.
  const auto raw = get({server_.url("/gzip?n=1000")});
  EXPECT_EQ(raw.exit_code, 0) << raw.err;
  ASSERT_GE(raw.out.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw.out[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw.out[1]), 0x8b);
}

TEST_P(CompressionTest, BombFailsBodyTooLargeAtBoundedMemory) {
  // 512 MiB of zeros, about 2 MiB on the wire: the limit counts decoded bytes.
  ChildOptions options;
  options.count_stdout_only = true;
  const auto r = get({"--compressed", "--max-body-size", "1M", "--json",
                      server_.url("/gzip?n=536870912&fill=zeros")},
                     options);
  EXPECT_EQ(r.exit_code, 6) << r.err;
  const auto report = parse_json(r.last_err_line());
  ASSERT_TRUE(report) << r.err;
  EXPECT_EQ((*report)["error"]["kind"].string(), "body_too_large");
  EXPECT_LE(r.out_bytes, 1u << 20);
  EXPECT_LT(r.max_rss_kb, 64 * 1024) << "peak RSS " << r.max_rss_kb << " KiB";
  // A zstd bomb (RLE blocks: 512 MiB of zeros in about 16 KiB) on curl, which decodes zstd.
  if (GetParam() == "curl") {
    const auto zstd = get({"--compressed", "--max-body-size", "1M", "--json",
                           server_.url("/gzip?n=536870912&fill=zeros&coding=zstd")},
                          options);
    EXPECT_EQ(zstd.exit_code, 6) << zstd.err;
    EXPECT_LE(zstd.out_bytes, 1u << 20);
    EXPECT_LT(zstd.max_rss_kb, 64 * 1024) << "peak RSS " << zstd.max_rss_kb << " KiB";
  }
  // Exactly the limit is fine.
  const auto exact = get({"--compressed", "--max-body-size", "1M", server_.url("/gzip?n=1048576&fill=zeros")}, options);
  EXPECT_EQ(exact.exit_code, 0) << exact.err;
  EXPECT_EQ(exact.out_bytes, 1u << 20);
}

INSTANTIATE_TEST_SUITE_P(Transports, CompressionTest, ::testing::Values("curl", "httplib"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fetchpipe::test
