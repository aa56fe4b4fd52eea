#include "audit/siem/syslog_format.h"

#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>

#include "audit/export.h"
#include "crypto/encoding.h"

namespace bulwark::audit::siem {
namespace {

constexpr int kSeverityErr = 3;
constexpr int kSeverityNotice = 5;
constexpr int kSeverityInfo = 6;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool Digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// "<PRI>1 TIMESTAMP HOSTNAME bulwark PROCID MSGID [": the RFC 5424 header every record starts with,
// up to the opening of its structured data.
void AppendHeader(std::string& out, int pri, std::string_view time, const SyslogIdentity& id,
                  std::string_view msgid) {
  out += '<';
  out += std::to_string(pri);
  out += ">1 ";
  out += time;
  out += ' ';
  out += id.hostname.empty() ? "-" : id.hostname;
  out += " bulwark ";
  out += id.procid.empty() ? "-" : id.procid;
  out += ' ';
  out += msgid;
  out += " [";
}

}  // namespace

int SyslogPriority(int facility, std::string_view result) {
  int severity = kSeverityErr;
  if (result == "success") {
    severity = kSeverityInfo;
  } else if (result == "denied") {
    severity = kSeverityNotice;
  }
  return facility * 8 + severity;
}

std::string PrintUsAscii(std::string_view in, std::size_t max) {
  std::string out;
  for (char c : in) {
    if (out.size() >= max) break;
    const auto u = static_cast<unsigned char>(c);
    if (u >= 33 && u <= 126) out.push_back(c);
  }
  return out.empty() ? std::string("-") : out;
}

std::string EscapeSdParamValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool IsRfc5424Timestamp(std::string_view t) {
  // YYYY-MM-DDThh:mm:ss[.f{1,6}](Z|+hh:mm|-hh:mm)
  if (!(Digits(t, 0, 4) && t.size() > 19 && t[4] == '-' && Digits(t, 5, 2) && t[7] == '-' &&
        Digits(t, 8, 2) && t[10] == 'T' && Digits(t, 11, 2) && t[13] == ':' && Digits(t, 14, 2) &&
        t[16] == ':' && Digits(t, 17, 2))) {
    return false;
  }
  std::size_t pos = 19;
  if (t[pos] == '.') {
    std::size_t n = 0;
    while (pos + 1 + n < t.size() && std::isdigit(static_cast<unsigned char>(t[pos + 1 + n]))) ++n;
    if (n < 1 || n > 6) return false;
    pos += 1 + n;
  }
  const std::string_view zone = t.substr(pos);
  if (zone == "Z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && Digits(zone, 1, 2) && zone[3] == ':' &&
         Digits(zone, 4, 2);
}

std::string FormatSyslogRecord(const SyslogIdentity& id, std::int64_t seq, std::string_view entry) {
  std::string time = "-";
  std::string msgid = "-";
  std::string result;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(entry, ec);
  if (!ec) {
    if (const boost::json::object* o = v.if_object()) {
      if (const auto* t = o->if_contains("time"); t && t->is_string() && IsRfc5424Timestamp(t->get_string())) {
        time = std::string(t->get_string());
      }
      if (const auto* a = o->if_contains("action"); a && a->is_string()) msgid = PrintUsAscii(a->get_string(), 32);
      if (const auto* r = o->if_contains("result"); r && r->is_string()) result = std::string(r->get_string());
    }
  }
  std::string out;
  out.reserve(entry.size() + 160);
  AppendHeader(out, SyslogPriority(id.facility, result), time, id, msgid);
  out += kSyslogSdId;
  out += " seq=\"";
  out += std::to_string(seq);
  out += "\" ledger=\"";
  out += EscapeSdParamValue(id.ledger_id);
  out += "\"] ";
  out += kBom;
  out += entry;
  return out;
}

std::string FormatSyslogCheckpoint(const SyslogIdentity& id, const LedgerCheckpoint& cp) {
  std::string time = "-";
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(cp.body, ec);
  if (!ec) {
    if (const boost::json::object* o = v.if_object()) {
      if (const auto* t = o->if_contains("time");
          t && t->is_string() && IsRfc5424Timestamp(t->get_string())) {
        time = std::string(t->get_string());
      }
    }
  }
  std::string line = CheckpointLine(cp);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  std::string out;
  out.reserve(line.size() + 400);
  AppendHeader(out, id.facility * 8 + kSeverityNotice, time, id, kSyslogCheckpointMsgId);
  out += kSyslogCheckpointSdId;
  out += " ledger=\"";
  out += EscapeSdParamValue(id.ledger_id);
  out += "\" size=\"";
  out += std::to_string(cp.size);
  out += "\" head_hash=\"";
  out += crypto::HexEncode(cp.head_hash);
  out += "\" key_id=\"";
  out += EscapeSdParamValue(cp.key_id);
  out += "\" signature=\"";
  out += crypto::Base64Encode(cp.signature);
  out += "\" id=\"";
  out += std::to_string(cp.id);
  out += "\"] ";
  out += kBom;
  out += line;
  return out;
}

std::string FrameOctetCounting(std::string_view msg) {
  std::string out = std::to_string(msg.size());
  out += ' ';
  out += msg;
  return out;
}

std::string LocalHostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "-";
  return PrintUsAscii(buf, 255);
}

}  // namespace bulwark::audit::siem
