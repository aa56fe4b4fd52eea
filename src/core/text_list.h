#pragma once
// The one encoding of short lists stored in a text column ("secrets.read secrets.write",
// "10.0.0.0/8,2001:db8::/32"): items joined by a separator that no item can contain.
//
//   JoinList({"a", "b"}, ' ') == "a b";   SplitList("a b", ' ') == {"a", "b"};   SplitList("", ' ')
//   == {}
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::core {

// The items of `text` separated by `sep`. An empty text is the empty list; otherwise every
// piece is an item, empty ones included (a reader that refuses them sees them).
std::vector<std::string> SplitList(std::string_view text, char sep);

// The items joined by `sep`; the inverse of SplitList for items that do not contain `sep`.
std::string JoinList(const std::vector<std::string>& items, char sep);

}  // namespace bulwark::core
