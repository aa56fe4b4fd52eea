#pragma once
// `bulwark routes [--dev]`: the route table as the binary serves it, built without a store.
#include <iosfwd>

namespace bulwark::app {

// Prints one JSON object per route and line:
//   {"method":"GET","path":"/metrics","auth":"internal","permission":"","summary":"..."}
// Returns 0; 1 (after a line on stderr) if the table cannot be built.
int PrintRoutes(bool dev, std::ostream& out);

}  // namespace bulwark::app
