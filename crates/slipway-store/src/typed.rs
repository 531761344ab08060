//! Typed handles on the store, one per registered kind: `store.kind::<Artifact>().get(name)`
//! reads the Artifact resource `name` with its spec as an `ArtifactSpec`, so no caller names a
//! kind by a string or parses a spec by hand.
//!
//! [`TypedStore`] is implemented for every [`Store`] (the trait object included); its
//! [`Handle`]s are generated from the kind registry through the [`Kind`] marker types. A stored
//! spec that does not parse as its kind's spec is a [`StoreError::Corrupt`]: every write went
//! through that kind's validation, so it can only mean the database was changed underneath.

use crate::{Mutation, Result, Store, StoreError};
use serde_json::Value;
use slipway_domain::kinds::Kind;
use slipway_domain::resource::{Metadata, Resource};
use std::marker::PhantomData;

/// A resource of kind `K` with its spec typed.
#[derive(Debug, Clone)]
pub struct Object<K: Kind> {
    pub metadata: Metadata,
    pub spec: K::Spec,
    /// What the server wrote about it (bookkeeping, not audited).
    pub status: Option<Value>,
}

impl<K: Kind> Object<K> {
    /// The resource's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Types a stored resource of kind `K`.
    pub fn from_resource(resource: Resource) -> Result<Self> {
        if resource.kind != K::KIND {
            return Err(StoreError::Corrupt(format!(
                "{} {} was read as a {}",
                resource.kind,
                resource.metadata.name,
                K::KIND
            )));
        }
        let spec = serde_json::from_value(resource.spec).map_err(|e| {
            StoreError::Corrupt(format!(
                "the stored spec of {} {} is not a valid {} spec: {e}",
                K::KIND,
                resource.metadata.name,
                K::KIND
            ))
        })?;
        Ok(Object {
            metadata: resource.metadata,
            spec,
            status: resource.status,
        })
    }
}

/// The store seen through the kind registry's types.
pub trait TypedStore {
    /// A handle on the resources of kind `K`.
    fn kind<K: Kind>(&self) -> Handle<'_, Self, K>;
}

impl<S: Store + ?Sized> TypedStore for S {
    fn kind<K: Kind>(&self) -> Handle<'_, Self, K> {
        Handle {
            store: self,
            kind: PhantomData,
        }
    }
}

/// The resources of kind `K` in a store.
pub struct Handle<'s, S: ?Sized, K> {
    store: &'s S,
    kind: PhantomData<fn() -> K>,
}

impl<S: Store + ?Sized, K: Kind> Handle<'_, S, K> {
    /// The resource `name`, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<Object<K>>> {
        self.resource(name)
            .await?
            .map(Object::from_resource)
            .transpose()
    }

    /// Whether the resource `name` exists.
    pub async fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.resource(name).await?.is_some())
    }

    /// Every resource of the kind.
    pub async fn list(&self) -> Result<Vec<Object<K>>> {
        self.resources()
            .await?
            .into_iter()
            .map(Object::from_resource)
            .collect()
    }

    /// The resources whose label `key` is `value`.
    pub async fn list_labelled(&self, key: &str, value: &str) -> Result<Vec<Object<K>>> {
        self.store
            .list_labelled(K::KIND, key, value)
            .await?
            .into_iter()
            .map(Object::from_resource)
            .collect()
    }

    /// The resource `name` as stored (for its declared content and audit digest).
    pub async fn resource(&self, name: &str) -> Result<Option<Resource>> {
        self.store.get(K::KIND, name).await
    }

    /// Every resource of the kind as stored.
    pub async fn resources(&self) -> Result<Vec<Resource>> {
        self.store.list(K::KIND).await
    }

    /// The resource `name` and who wrote its current revision.
    pub async fn get_with_writer(&self, name: &str) -> Result<Option<(Object<K>, String)>> {
        self.store
            .get_with_writer(K::KIND, name)
            .await?
            .map(|(r, writer)| Ok((Object::from_resource(r)?, writer)))
            .transpose()
    }

    /// Who wrote the current revision of the resource `name`.
    pub async fn updated_by(&self, name: &str) -> Result<Option<String>> {
        self.store.updated_by(K::KIND, name).await
    }

    /// Writes the server-owned status of the resource `name`.
    pub async fn set_status(&self, name: &str, status: &Value) -> Result<()> {
        self.store.set_status(K::KIND, name, status).await
    }
}

impl Mutation {
    /// Deletes the resource `name` of kind `K` (at `expected_revision`, when given).
    pub fn delete<K: Kind>(name: impl Into<String>, expected_revision: Option<i64>) -> Mutation {
        Mutation::Delete {
            kind: K::KIND.to_string(),
            name: name.into(),
            expected_revision,
        }
    }
}
