//! Registry credentials scoped to a realm, stored in its record. Passwords
//! leave this module masked unless the caller explicitly asks otherwise.

use super::{now_rfc3339, Host, OpError, OpResult};
use crate::model::names::{quote, validate_server, validate_username};
use crate::model::realm::MASK;
use crate::model::RegistryCredential;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialChange {
    Added,
    Updated,
    /// Kukeon's layout keys an entry by server alone: an entry for the
    /// server with another username was replaced.
    Replaced,
}

/// A credential as shown: the password is the mask unless revealed.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    pub server: String,
    pub username: String,
    pub password: String,
}

/// Always masked, even for a revealed view: `--show-secrets` asks for the
/// output, not for every `{:?}` of it.
impl std::fmt::Debug for CredentialView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialView")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &MASK)
            .finish()
    }
}

/// Adds a credential, or replaces the password of the entry with the same
/// server and username. On Kukeon's layout the key is the server alone, as
/// Kukeon's own `kuke create registry-credential` (and the daemon path,
/// `ops::via_daemon`) has it: an entry for the server with another username
/// is replaced, username and password.
pub fn upsert_credential(
    host: &Host,
    realm: &str,
    server: &str,
    username: &str,
    password: &str,
) -> OpResult<CredentialChange> {
    check_new_credential(server, username, password)?;
    let by_server = host.store.layout() == crate::store::realms::Layout::Kukeon;
    modify_record(host, realm, |doc| {
        Ok(put_credential(
            &mut doc.spec.registry_credentials,
            server,
            username,
            password,
            by_server,
        ))
    })
}

/// Removes the entries for `server` (and `username`, when given); returns how many.
pub fn delete_credential(
    host: &Host,
    realm: &str,
    server: &str,
    username: Option<&str>,
) -> OpResult<usize> {
    check_server_given(server)?;
    modify_record(host, realm, |doc| {
        take_credentials(&mut doc.spec.registry_credentials, realm, server, username)
    })
}

/// What a new credential must be, whichever path writes it.
pub(crate) fn check_new_credential(server: &str, username: &str, password: &str) -> OpResult<()> {
    validate_server(server).map_err(OpError::usage)?;
    validate_username(username).map_err(OpError::usage)?;
    if password.is_empty() {
        return Err(OpError::usage(
            "the password is empty; pipe it with --password-stdin or give --from-file with a non-empty file",
        ));
    }
    Ok(())
}

/// Only emptiness is refused: a delete matches an existing entry exactly,
/// and one written by another tool may hold characters a new one may not.
pub(crate) fn check_server_given(server: &str) -> OpResult<()> {
    if server.is_empty() {
        return Err(OpError::usage(
            "invalid --server: it is empty; give the server of the credential to remove",
        ));
    }
    Ok(())
}

/// Puts a credential into a realm's list: the entry with the same key (the
/// server, and the username unless `by_server`) gets the new username and
/// password, else one is appended.
pub(crate) fn put_credential(
    creds: &mut Vec<RegistryCredential>,
    server: &str,
    username: &str,
    password: &str,
    by_server: bool,
) -> CredentialChange {
    match creds
        .iter_mut()
        .find(|c| c.server() == server && (by_server || c.username == username))
    {
        Some(existing) => {
            let change = if existing.username == username {
                CredentialChange::Updated
            } else {
                CredentialChange::Replaced
            };
            existing.username = username.to_string();
            existing.password = password.to_string();
            change
        }
        None => {
            creds.push(RegistryCredential {
                username: username.into(),
                password: password.into(),
                server_address: Some(server.into()),
                extra: Default::default(),
            });
            CredentialChange::Added
        }
    }
}

/// Removes the entries for `server` (and `username`, when given) from a
/// realm's list; none is an error that says how to list them.
pub(crate) fn take_credentials(
    creds: &mut Vec<RegistryCredential>,
    realm: &str,
    server: &str,
    username: Option<&str>,
) -> OpResult<usize> {
    let before = creds.len();
    creds.retain(|c| !(c.server() == server && username.is_none_or(|u| c.username == u)));
    let removed = before - creds.len();
    if removed == 0 {
        let who = username
            .map(|u| format!(" and username {}", quote(u)))
            .unwrap_or_default();
        return Err(OpError::failed(format!(
            "realm {realm:?} has no registry credential for server {}{who}; list them with `kuke-tui get registry-credentials {realm}`",
            quote(server)
        )));
    }
    Ok(removed)
}

pub fn list_credentials(
    host: &Host,
    realm: &str,
    show_secrets: bool,
) -> OpResult<Vec<CredentialView>> {
    let doc = host.require_realm(realm)?;
    Ok(doc
        .spec
        .registry_credentials
        .iter()
        .map(|c| CredentialView {
            server: c.server().to_string(),
            username: c.username.clone(),
            password: if show_secrets {
                c.password.clone()
            } else {
                MASK.into()
            },
        })
        .collect())
}

/// Read-modify-write of a realm record under its lock; nothing is written
/// when `change` fails.
fn modify_record<T>(
    host: &Host,
    realm: &str,
    change: impl FnOnce(&mut crate::model::RealmDoc) -> OpResult<T>,
) -> OpResult<T> {
    host.require_realm(realm)?;
    let path = host.store.record_path(realm);
    let lock = host
        .store
        .lock(realm)
        .map_err(|e| OpError::io("cannot lock the record", &path, &e))?;
    // Re-read under the lock: another writer may have changed it meanwhile.
    let mut doc = host
        .store
        .read_record(realm)
        .map_err(|e| OpError::failed(format!("realm {realm:?} has an unusable record: {e}")))?;
    let result = change(&mut doc)?;
    doc.status_mut().updated_at = Some(now_rfc3339());
    host.store
        .write_record(&doc, &lock)
        .map_err(|e| OpError::io("cannot write the record", &path, &e))?;
    Ok(result)
}
