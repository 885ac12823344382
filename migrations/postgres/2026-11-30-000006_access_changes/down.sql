DROP TRIGGER users_access_change ON users;
DROP TRIGGER api_tokens_delete_access_change ON api_tokens;
DROP TRIGGER api_tokens_revoke_access_change ON api_tokens;
DROP FUNCTION airlock_access_change();
