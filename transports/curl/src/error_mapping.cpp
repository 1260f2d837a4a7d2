#include "error_mapping.hpp"

namespace fetchpipe::detail {

// The table, by CURLcode (libcurl 7.88.1, man libcurl-errors):
//
//   5 COULDNT_RESOLVE_PROXY, 6 COULDNT_RESOLVE_HOST           -> dns_failure
//   7 COULDNT_CONNECT                                          -> connect_failure
//   28 OPERATION_TIMEDOUT, before the connection was up         -> connect_timeout
//   28 OPERATION_TIMEDOUT, after (not expected: fetchpipe sets no CURLOPT_TIMEOUT, its own timers
//      end the transfer; kept for safety)                       -> attempt_timeout
//   8 WEIRD_SERVER_REPLY, 16 HTTP2, 18 PARTIAL_FILE, 52 GOT_NOTHING, 55 SEND_ERROR,
//   56 RECV_ERROR, 92 HTTP2_STREAM, 95 HTTP3, 96 QUIC_CONNECT_ERROR
//      -> connection_reset: the connection broke or the response was cut or garbled; nothing
//         says the request was not processed, so only idempotent requests are safely retried.
//   35 SSL_CONNECT_ERROR, 53/54 SSL_ENGINE_*, 58 SSL_CERTPROBLEM, 59 SSL_CIPHER,
//   60 PEER_FAILED_VERIFICATION, 64 USE_SSL_FAILED, 66 SSL_ENGINE_INITFAILED,
//   77 SSL_CACERT_BADFILE, 80 SSL_SHUTDOWN_FAILED, 82 SSL_CRL_BADFILE, 83 SSL_ISSUER_ERROR,
//   90 SSL_PINNEDPUBKEYNOTMATCH, 91 SSL_INVALIDCERTSTATUS, 98 SSL_CLIENTCERT -> tls_failure
//   63 FILESIZE_EXCEEDED (Content-Length above CURLOPT_MAXFILESIZE) -> body_too_large
//   47 TOO_MANY_REDIRECTS (not expected: redirects are not followed here) -> too_many_redirects
//   61 BAD_CONTENT_ENCODING (the server's coding did not decode)  -> connection_reset
//   1 UNSUPPORTED_PROTOCOL, once connected: libcurl's words for a garbled status line ("Received
//      HTTP/0.9 when not allowed", "Unsupported response code") -> connection_reset; the
//      request was sent, so it is not invalid_request
//   43 BAD_FUNCTION_ARGUMENT, once connected: libcurl 7.88 ends a transfer so when a header line
//      carries a bare CR -> connection_reset (the server's bytes, not our call)
//   1 UNSUPPORTED_PROTOCOL, 3 URL_MALFORMAT, before connecting      -> invalid_request
//   everything else (27 OUT_OF_MEMORY, 2 FAILED_INIT, 43 before connecting, 23/42 not asked
//   for, 48 UNKNOWN_OPTION, 99 UNRECOVERABLE_POLL, ...)           -> internal_error
ErrorKind map_curl_code(CURLcode code, bool connected) noexcept {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
      return ErrorKind::dns_failure;
    case CURLE_COULDNT_CONNECT:
      return ErrorKind::connect_failure;
    case CURLE_OPERATION_TIMEDOUT:
      return connected ? ErrorKind::attempt_timeout : ErrorKind::connect_timeout;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
      return ErrorKind::connection_reset;
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return connected ? ErrorKind::connection_reset : ErrorKind::internal_error;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return ErrorKind::tls_failure;
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorKind::body_too_large;
    case CURLE_TOO_MANY_REDIRECTS:
      return ErrorKind::too_many_redirects;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return connected ? ErrorKind::connection_reset : ErrorKind::invalid_request;
    case CURLE_URL_MALFORMAT:
      return ErrorKind::invalid_request;
    default:
      return ErrorKind::internal_error;
  }
}

std::string curl_message(CURLcode code, std::string_view error_buffer) {
  std::string message = "curl: ";
  if (!error_buffer.empty()) {
    message.append(error_buffer);
  } else {
    message.append(curl_easy_strerror(code));
  }
  return message;
}

}  // namespace fetchpipe::detail
