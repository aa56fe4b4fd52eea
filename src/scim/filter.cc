#include "scim/filter.h"

#include <boost/json/parse.hpp>
#include <charconv>
#include <optional>

#include "core/ascii.h"

namespace bulwark::scim {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxFilterBytes = 4096;
constexpr int kMaxDepth = 64;

Status Invalid(std::string message) {
  return Status::InvalidArgument("invalid_filter", std::move(message));
}

struct Token {
  enum class Kind { kLParen, kRParen, kLBracket, kRBracket, kWord, kString, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // a word as written, or a string decoded
};

bool IsDelimiter(char c) {
  return c == ' ' || c == '\t' || c == '(' || c == ')' || c == '[' || c == ']' || c == '"';
}

StatusOr<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == '(' || c == ')' || c == '[' || c == ']') {
      Token t;
      t.kind = c == '('   ? Token::Kind::kLParen
               : c == ')' ? Token::Kind::kRParen
               : c == '[' ? Token::Kind::kLBracket
                          : Token::Kind::kRBracket;
      out.push_back(std::move(t));
      ++i;
    } else if (c == '"') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      if (j >= s.size()) return Invalid("a string in the filter is not closed");
      boost::system::error_code ec;
      json::value v = json::parse(s.substr(i, j - i + 1), ec);
      if (ec || !v.is_string()) return Invalid("a string in the filter is not a valid JSON string");
      out.push_back({Token::Kind::kString, std::string(v.as_string())});
      i = j + 1;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      return Invalid("the filter holds a control character");
    } else {
      std::size_t j = i;
      while (j < s.size() && !IsDelimiter(s[j])) ++j;
      out.push_back({Token::Kind::kWord, std::string(s.substr(i, j - i))});
      i = j;
    }
  }
  out.push_back({});
  return out;
}

std::optional<CompareOp> ParseOp(std::string_view w) {
  static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
      {"eq", CompareOp::kEq}, {"ne", CompareOp::kNe}, {"co", CompareOp::kCo},
      {"sw", CompareOp::kSw}, {"ew", CompareOp::kEw}, {"gt", CompareOp::kGt},
      {"ge", CompareOp::kGe}, {"lt", CompareOp::kLt}, {"le", CompareOp::kLe},
      {"pr", CompareOp::kPr}};
  for (const auto& [name, op] : kOps) {
    if (IEquals(name, w)) return op;
  }
  return std::nullopt;
}

StatusOr<json::value> ParseLiteral(const Token& t) {
  if (t.kind == Token::Kind::kString) return json::value(t.text);
  if (t.kind != Token::Kind::kWord) return Invalid("a comparison needs a value");
  if (IEquals(t.text, "true")) return json::value(true);
  if (IEquals(t.text, "false")) return json::value(false);
  if (IEquals(t.text, "null")) return json::value(nullptr);
  std::int64_t n = 0;
  const char* end = t.text.data() + t.text.size();
  if (auto r = std::from_chars(t.text.data(), end, n); r.ec == std::errc() && r.ptr == end) {
    return json::value(n);
  }
  double d = 0;
  if (auto r = std::from_chars(t.text.data(), end, d); r.ec == std::errc() && r.ptr == end) {
    return json::value(d);
  }
  return Invalid("a value must be a quoted string, a number, true, false or null");
}

class Parser {
 public:
  Parser(ResourceKind kind, std::vector<Token> tokens, const AttrDef* element_of)
      : kind_(kind), tokens_(std::move(tokens)), element_of_(element_of) {}

  StatusOr<std::unique_ptr<FilterNode>> ParseAll() {
    BULWARK_ASSIGN_OR_RETURN(auto root, ParseOr(0));
    if (Peek().kind != Token::Kind::kEnd) return Invalid("unexpected text after the filter");
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool PeekWord(std::string_view w) const {
    return Peek().kind == Token::Kind::kWord && IEquals(Peek().text, w);
  }

  StatusOr<std::unique_ptr<FilterNode>> ParseOr(int depth) {
    if (depth > kMaxDepth) return Invalid("the filter nests too deeply");
    BULWARK_ASSIGN_OR_RETURN(auto left, ParseAnd(depth));
    while (PeekWord("or")) {
      Next();
      BULWARK_ASSIGN_OR_RETURN(auto right, ParseAnd(depth));
      left = Join(FilterNode::Kind::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  StatusOr<std::unique_ptr<FilterNode>> ParseAnd(int depth) {
    BULWARK_ASSIGN_OR_RETURN(auto left, ParseUnary(depth));
    while (PeekWord("and")) {
      Next();
      BULWARK_ASSIGN_OR_RETURN(auto right, ParseUnary(depth));
      left = Join(FilterNode::Kind::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  static std::unique_ptr<FilterNode> Join(FilterNode::Kind kind, std::unique_ptr<FilterNode> a,
                                          std::unique_ptr<FilterNode> b) {
    auto n = std::make_unique<FilterNode>();
    n->kind = kind;
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }

  StatusOr<std::unique_ptr<FilterNode>> ParseGroup(int depth) {
    if (Next().kind != Token::Kind::kLParen) return Invalid("expected '('");
    BULWARK_ASSIGN_OR_RETURN(auto inner, ParseOr(depth + 1));
    if (Next().kind != Token::Kind::kRParen) return Invalid("a '(' is not closed");
    return inner;
  }

  StatusOr<std::unique_ptr<FilterNode>> ParseUnary(int depth) {
    if (PeekWord("not") && tokens_[pos_ + 1].kind == Token::Kind::kLParen) {
      Next();
      auto n = std::make_unique<FilterNode>();
      n->kind = FilterNode::Kind::kNot;
      BULWARK_ASSIGN_OR_RETURN(auto inner, ParseGroup(depth));
      n->children.push_back(std::move(inner));
      return n;
    }
    if (Peek().kind == Token::Kind::kLParen) return ParseGroup(depth);
    return ParseAttrExp(depth);
  }

  // Resolves an attribute path word to (attribute, sub-attribute).
  Status Resolve(std::string_view word, const AttrDef** attr, const AttrDef** sub) {
    *sub = nullptr;
    if (element_of_ != nullptr) {
      *attr = FindSub(*element_of_, word);
      if (*attr == nullptr) return Invalid("the filter names an unknown sub-attribute");
      return Status::Ok();
    }
    word = StripSchemaPrefix(kind_, word);
    const std::size_t dot = word.find('.');
    *attr = FindAttr(kind_, word.substr(0, dot));
    if (*attr == nullptr) return Invalid("the filter names an unknown attribute");
    if (dot != std::string_view::npos) {
      if ((*attr)->type != AttrType::kComplex) return Invalid("a simple attribute has no parts");
      *sub = FindSub(**attr, word.substr(dot + 1));
      if (*sub == nullptr) return Invalid("the filter names an unknown sub-attribute");
    } else if ((*attr)->type == AttrType::kComplex) {
      *sub = FindSub(**attr, "value");
      if (*sub == nullptr || !(*attr)->multi) {
        return Invalid("a complex attribute is compared through one of its sub-attributes");
      }
    }
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<FilterNode>> ParseAttrExp(int depth) {
    const Token& word = Next();
    if (word.kind != Token::Kind::kWord) return Invalid("expected an attribute name");
    auto n = std::make_unique<FilterNode>();
    if (Peek().kind == Token::Kind::kLBracket) {
      if (element_of_ != nullptr) return Invalid("value paths do not nest");
      const AttrDef* attr = FindAttr(kind_, StripSchemaPrefix(kind_, word.text));
      if (attr == nullptr) return Invalid("the filter names an unknown attribute");
      if (!attr->multi || attr->type != AttrType::kComplex) {
        return Invalid("a value path needs a multi-valued complex attribute");
      }
      Next();
      Parser inner(kind_, {}, attr);
      inner.tokens_.assign(tokens_.begin() + static_cast<std::ptrdiff_t>(pos_), tokens_.end());
      BULWARK_ASSIGN_OR_RETURN(auto sub, inner.ParseOr(depth + 1));
      pos_ += inner.pos_;
      if (Next().kind != Token::Kind::kRBracket) return Invalid("a '[' is not closed");
      n->kind = FilterNode::Kind::kValuePath;
      n->attr = attr;
      n->children.push_back(std::move(sub));
      return n;
    }
    BULWARK_RETURN_IF_ERROR(Resolve(word.text, &n->attr, &n->sub));
    const Token& op_token = Next();
    const auto op = op_token.kind == Token::Kind::kWord ? ParseOp(op_token.text) : std::nullopt;
    if (!op) return Invalid("expected an operator (eq ne co sw ew gt ge lt le pr)");
    n->op = *op;
    if (*op == CompareOp::kPr) return n;
    BULWARK_ASSIGN_OR_RETURN(n->value, ParseLiteral(Next()));
    const AttrDef& def = n->sub != nullptr ? *n->sub : *n->attr;
    const bool equality = *op == CompareOp::kEq || *op == CompareOp::kNe;
    if (n->value.is_null()) {
      if (!equality) return Invalid("null compares only with eq or ne");
    } else if (def.type == AttrType::kBoolean) {
      if (!n->value.is_bool() || !equality) {
        return Invalid("a boolean attribute compares with eq or ne and true or false");
      }
    } else if (!n->value.is_string()) {
      return Invalid("a string attribute compares with a quoted string");
    }
    return n;
  }

  ResourceKind kind_;
  std::vector<Token> tokens_;
  const AttrDef* element_of_;
  std::size_t pos_ = 0;
};

StatusOr<Filter> Parse(ResourceKind kind, std::string_view text, const AttrDef* element_of) {
  if (text.size() > kMaxFilterBytes) return Invalid("the filter is longer than 4096 bytes");
  BULWARK_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  if (tokens.size() == 1) return Invalid("the filter is empty");
  Parser p(kind, std::move(tokens), element_of);
  BULWARK_ASSIGN_OR_RETURN(auto root, p.ParseAll());
  return Filter(std::move(root));
}

const json::value* Member(const json::value& v, std::string_view name) {
  if (!v.is_object()) return nullptr;
  for (const auto& kv : v.as_object()) {
    if (IEquals(kv.key(), name)) return &kv.value();
  }
  return nullptr;
}

bool Present(const json::value* v) {
  if (v == nullptr || v->is_null()) return false;
  if (v->is_string()) return !v->as_string().empty();
  if (v->is_array()) return !v->as_array().empty();
  if (v->is_object()) return !v->as_object().empty();
  return true;
}

// The values a comparison node looks at in `base` (a resource, or one element when `element`).
std::vector<const json::value*> Collect(const FilterNode& n, const json::value& base,
                                        bool element) {
  std::vector<const json::value*> out;
  const json::value* v = Member(base, n.attr->name);
  if (element || v == nullptr) {
    if (v != nullptr) out.push_back(v);
    return out;
  }
  if (n.attr->multi && v->is_array()) {
    for (const json::value& e : v->as_array()) {
      const json::value* x = n.sub != nullptr ? Member(e, n.sub->name) : &e;
      if (x != nullptr) out.push_back(x);
    }
  } else if (n.sub != nullptr) {
    if (const json::value* x = Member(*v, n.sub->name)) out.push_back(x);
  } else {
    out.push_back(v);
  }
  return out;
}

bool Eval(const FilterNode& n, const json::value& base, bool element) {
  switch (n.kind) {
    case FilterNode::Kind::kAnd:
      return Eval(*n.children[0], base, element) && Eval(*n.children[1], base, element);
    case FilterNode::Kind::kOr:
      return Eval(*n.children[0], base, element) || Eval(*n.children[1], base, element);
    case FilterNode::Kind::kNot:
      return !Eval(*n.children[0], base, element);
    case FilterNode::Kind::kValuePath: {
      const json::value* v = Member(base, n.attr->name);
      if (v == nullptr || !v->is_array()) return false;
      for (const json::value& e : v->as_array()) {
        if (Eval(*n.children[0], e, true)) return true;
      }
      return false;
    }
    case FilterNode::Kind::kCompare:
      break;
  }
  const auto values = Collect(n, base, element);
  const AttrDef& def = n.sub != nullptr ? *n.sub : *n.attr;
  bool any_present = false;
  for (const json::value* v : values) any_present = any_present || Present(v);
  if (n.op == CompareOp::kPr) return any_present;
  if (n.value.is_null()) return n.op == CompareOp::kEq ? !any_present : any_present;
  if (n.op == CompareOp::kNe) {
    for (const json::value* v : values) {
      if (CompareValues(def, *v, CompareOp::kEq, n.value)) return false;
    }
    return true;
  }
  for (const json::value* v : values) {
    if (CompareValues(def, *v, n.op, n.value)) return true;
  }
  return false;
}

}  // namespace

bool CompareValues(const AttrDef& def, const json::value& actual, CompareOp op,
                   const json::value& expected) {
  if (op == CompareOp::kNe) return !CompareValues(def, actual, CompareOp::kEq, expected);
  if (expected.is_bool() || actual.is_bool()) {
    return op == CompareOp::kEq && actual.is_bool() && expected.is_bool() &&
           actual.as_bool() == expected.as_bool();
  }
  if (!actual.is_string() || !expected.is_string()) return false;
  std::string a(actual.as_string());
  std::string e(expected.as_string());
  if (!def.case_exact) {
    a = core::AsciiLower(a);
    e = core::AsciiLower(e);
  }
  switch (op) {
    case CompareOp::kEq: return a == e;
    case CompareOp::kCo: return a.find(e) != std::string::npos;
    case CompareOp::kSw: return a.starts_with(e);
    case CompareOp::kEw: return a.ends_with(e);
    case CompareOp::kGt: return a > e;
    case CompareOp::kGe: return a >= e;
    case CompareOp::kLt: return a < e;
    case CompareOp::kLe: return a <= e;
    case CompareOp::kNe:
    case CompareOp::kPr: break;
  }
  return false;
}

bool Filter::Matches(const json::value& resource) const {
  return root_ != nullptr && Eval(*root_, resource, false);
}

StatusOr<Filter> ParseFilter(ResourceKind kind, std::string_view text) {
  return Parse(kind, text, nullptr);
}

StatusOr<Filter> ParseElementFilter(ResourceKind kind, const AttrDef& parent,
                                    std::string_view text) {
  return Parse(kind, text, &parent);
}

bool ElementMatches(const Filter& filter, const json::value& element) {
  return filter.root() != nullptr && Eval(*filter.root(), element, true);
}

std::vector<std::pair<const AttrDef*, json::value>> EqualityTerms(const Filter& filter) {
  std::vector<std::pair<const AttrDef*, json::value>> out;
  std::vector<const FilterNode*> stack;
  if (filter.root() != nullptr) stack.push_back(filter.root());
  while (!stack.empty()) {
    const FilterNode* n = stack.back();
    stack.pop_back();
    if (n->kind == FilterNode::Kind::kAnd) {
      stack.push_back(n->children[1].get());
      stack.push_back(n->children[0].get());
    } else if (n->kind == FilterNode::Kind::kCompare && n->op == CompareOp::kEq &&
               !n->value.is_null()) {
      out.emplace_back(n->attr, n->value);
    } else {
      return {};
    }
  }
  return out;
}

}  // namespace bulwark::scim
