// A stable sort for vectors without std::stable_sort, whose libstdc++ 12
// implementation uses get_temporary_buffer, deprecated in C++20 (clang
// warns, and warnings are errors here). Ties keep their input order, so the
// result is deterministic.
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

namespace bpfsign {

template <typename T, typename Less>
void stable_sort_vector(std::vector<T>& items, Less less) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (less(items[a], items[b])) return true;
    if (less(items[b], items[a])) return false;
    return a < b;
  });
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (std::size_t i : order) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
}

}  // namespace bpfsign
