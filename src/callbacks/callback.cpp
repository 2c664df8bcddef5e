#include <lightning/callbacks/callback.h>

#include <c10/util/Type.h>

#include <typeinfo>

namespace lightning {

std::string Callback::state_key() const { return c10::demangle(typeid(*this).name()); }

}  // namespace lightning
