#include "wattlab/track/store.h"

#include <filesystem>

#include "wattlab/track/postgres_store.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {

std::string sqlite_tracking_uri(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return "sqlite:///" + (ec ? path : abs.lexically_normal().string());
}

Result<ViewType> parse_view_type(const std::string& text) {
  if (text == "ACTIVE_ONLY") return ViewType::kActiveOnly;
  if (text == "DELETED_ONLY") return ViewType::kDeletedOnly;
  if (text == "ALL") return ViewType::kAll;
  return Status::invalid_argument("view type '" + text + "' is not one of ACTIVE_ONLY, DELETED_ONLY, ALL");
}

Result<Durability> parse_durability(const std::string& text) {
  if (text == "full") return Durability::kPowerLoss;
  if (text == "process") return Durability::kProcessCrash;
  return Status::invalid_argument("durability '" + text +
                                  "' is not one of full (acknowledged writes survive a power loss) or process "
                                  "(they survive a crash of the process only)");
}

Result<std::unique_ptr<Store>> Store::open(const std::string& location, Clock* clock, const StoreOptions& options) {
  if (is_postgres_uri(location)) {
    auto store = PostgresStore::open(location, clock);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(store).value());
  }
  auto path = sqlite_path_from_location(location);
  if (!path.ok()) return path.status();
  SqliteStoreOptions sqlite_options;
  sqlite_options.durability = options.durability;
  auto store = SqliteStore::open(*path, clock, sqlite_options);
  if (!store.ok()) {
    if (location.rfind("sqlite:", 0) == 0 && *path != ":memory:" && path->front() != '/') {
      return store.status().with_context("store URI " + location + " names the relative path " + *path +
                                         " (write sqlite:////absolute/path.db for an absolute one)");
    }
    return store.status();
  }
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace wattlab
