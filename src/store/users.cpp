// Users and bearer tokens (store/database.h). Passwords are kept as libsodium's Argon2id
// strings (salt and cost inside); tokens are random and only their BLAKE2b hash is stored.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sodium.h>

#include <array>

#include "store/database.h"
#include "store/sqlite_guard.h"

namespace callflow {
namespace {

std::string toHex(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2, '\0');
  sodium_bin2hex(hex.data(), hex.size() + 1, bytes, size);
  return hex;
}

std::string tokenHash(std::string_view token) {
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                     0);
  return toHex(digest.data(), digest.size());
}

}  // namespace

bool isRole(std::string_view role) {
  return role == "api" || role == "admin" || role == "supervisor" || role == "agent";
}

Result<std::int64_t> Database::addUser(std::string_view name, std::string_view password,
                                       std::string_view role) {
  if (name.empty() || name.size() > 128 ||
      name.find_first_of(":\r\n\t ") != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "user name must be 1-128 characters without spaces or \":\"");
  }
  if (password.size() < 8) {
    return fail(ErrorCode::kInvalidArgument, "password must be at least 8 characters");
  }
  if (!isRole(role)) {
    return fail(ErrorCode::kInvalidArgument,
                "role \"" + std::string(role) + "\" is not one of api, admin, supervisor, agent");
  }
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str(hash.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return fail(ErrorCode::kUnavailable, "not enough memory to hash the password");
  }
  return sqliteGuard("adding a user", [&]() -> Result<std::int64_t> {
    auto insert = statement(
        "INSERT INTO users (name, password_hash, role, created_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING");
    insert->bind(1, std::string(name));
    insert->bind(2, hash.data());
    insert->bind(3, std::string(role));
    insert->bind(4, nowMs());
    if (insert->exec() == 0) {
      return fail(ErrorCode::kFailedPrecondition,
                  "user \"" + std::string(name) + "\" exists already");
    }
    return static_cast<std::int64_t>(db_->getLastInsertRowid());
  });
}

Result<std::optional<User>> Database::verifyUser(std::string_view name, std::string_view password) {
  auto row = sqliteGuard("reading a user", [&] {
    auto query = statement("SELECT id, name, role, password_hash FROM users WHERE name = ?");
    query->bind(1, std::string(name));
    if (!query->executeStep()) return std::optional<std::pair<User, std::string>>();
    return std::optional<std::pair<User, std::string>>(
        {User{query->getColumn(0).getInt64(), query->getColumn(1).getString(),
              query->getColumn(2).getString()},
         query->getColumn(3).getString()});
  });
  if (!row) return row.error();
  if (!*row) {
    // Spend the same time as for a real user, so a timing probe cannot list user names.
    static const std::string dummy = [] {
      std::array<char, crypto_pwhash_STRBYTES> hash{};
      if (crypto_pwhash_str(hash.data(), "x", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        return std::string();
      }
      return std::string(hash.data());
    }();
    if (!dummy.empty() &&
        crypto_pwhash_str_verify(dummy.c_str(), password.data(), password.size()) == 0) {
      // cannot happen (the dummy's password is "x" and real ones are 8+ characters)
    }
    return std::optional<User>();
  }
  const auto& [user, hash] = **row;
  if (crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0) {
    return std::optional<User>();
  }
  return std::optional<User>(user);
}

Result<std::vector<User>> Database::listUsers() {
  return sqliteGuard("listing users", [&] {
    auto query = statement("SELECT id, name, role FROM users ORDER BY name");
    std::vector<User> users;
    while (query->executeStep()) {
      users.push_back(User{query->getColumn(0).getInt64(), query->getColumn(1).getString(),
                           query->getColumn(2).getString()});
    }
    return users;
  });
}

Result<std::string> Database::createToken(std::int64_t user_id, std::int64_t ttl_seconds) {
  std::array<unsigned char, 32> random{};
  randombytes_buf(random.data(), random.size());
  std::string token = "cf_" + toHex(random.data(), random.size());
  return sqliteGuard("storing a token", [&] {
    auto expire = statement("DELETE FROM tokens WHERE expires_ms < ?");
    expire->bind(1, nowMs());
    expire->exec();
    auto insert =
        statement("INSERT INTO tokens (token_hash, user_id, expires_ms) VALUES (?, ?, ?)");
    insert->bind(1, tokenHash(token));
    insert->bind(2, user_id);
    insert->bind(3, nowMs() + ttl_seconds * 1000);
    insert->exec();
    return token;
  });
}

Result<std::optional<User>> Database::userForToken(std::string_view token) {
  return sqliteGuard("reading a token", [&] {
    auto query = statement(
        "SELECT users.id, users.name, users.role FROM tokens JOIN users ON users.id = "
        "tokens.user_id WHERE tokens.token_hash = ? AND tokens.expires_ms > ?");
    query->bind(1, tokenHash(token));
    query->bind(2, nowMs());
    if (!query->executeStep()) return std::optional<User>();
    return std::optional<User>(User{query->getColumn(0).getInt64(), query->getColumn(1).getString(),
                                    query->getColumn(2).getString()});
  });
}

}  // namespace callflow
