//! The node's copy of the registry, indexed for the call path (no store read per call). It is
//! reloaded when the store's registry version moves: checked every `registry_refresh_ms`, and at
//! once after a change made through this node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use cqs_domain::exchange::{ClientId, Grant, Member, MemberId, Service, ServiceId};
use cqs_store::Store;
use cqs_store::exchange::{ClientLimit, Credential, RegistrySnapshot};

/// One loaded version of the registry.
#[derive(Debug, Default)]
pub struct RegistryView {
    pub version: i64,
    pub members: HashMap<MemberId, Member>,
    pub services: HashMap<ServiceId, Service>,
    /// Services of each provider subsystem, sorted by code.
    pub by_provider: HashMap<ClientId, Vec<ServiceId>>,
    pub credentials: HashMap<ClientId, Credential>,
    /// `X-SystemId` → subsystem.
    pub system_ids: HashMap<String, ClientId>,
    /// Active grants by service and client.
    pub grants: HashMap<(ServiceId, ClientId), Vec<Grant>>,
    /// Limits by client.
    pub limits: HashMap<ClientId, Vec<ClientLimit>>,
}

impl RegistryView {
    pub fn index(s: RegistrySnapshot) -> Self {
        let mut v = RegistryView { version: s.version, ..Default::default() };
        for m in s.members {
            v.members.insert(m.id.clone(), m);
        }
        for c in s.credentials {
            v.system_ids.insert(c.system_id.clone(), c.client.clone());
            v.credentials.insert(c.client.clone(), c);
        }
        for svc in s.services {
            v.by_provider.entry(svc.id.provider.clone()).or_default().push(svc.id.clone());
            v.services.insert(svc.id.clone(), svc);
        }
        for list in v.by_provider.values_mut() {
            list.sort();
        }
        for g in s.grants {
            v.grants.entry((g.service.clone(), g.client.clone())).or_default().push(g);
        }
        for l in s.limits {
            v.limits.entry(l.client.clone()).or_default().push(l);
        }
        v
    }

    /// The grants a client holds on a service (empty when none).
    pub fn grants_of(&self, service: &ServiceId, client: &ClientId) -> &[Grant] {
        self.grants.get(&(service.clone(), client.clone())).map_or(&[], Vec::as_slice)
    }
}

/// The registry as this node sees it.
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    current: RwLock<Arc<RegistryView>>,
}

impl Registry {
    pub async fn load(store: Arc<dyn Store>) -> Result<Self, cqs_store::StoreError> {
        let view = RegistryView::index(store.registry_snapshot().await?);
        Ok(Self(Arc::new(Inner { store, current: RwLock::new(Arc::new(view)) })))
    }

    /// The current view (a cheap clone of a shared pointer).
    pub fn view(&self) -> Arc<RegistryView> {
        self.0.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Reloads if the store's version differs from the loaded one; returns whether it did.
    pub async fn reload(&self) -> Result<bool, cqs_store::StoreError> {
        let loaded = self.view().version;
        if self.0.store.registry_version().await? == loaded {
            return Ok(false);
        }
        let view = Arc::new(RegistryView::index(self.0.store.registry_snapshot().await?));
        let mut cur = self.0.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if view.version >= cur.version {
            *cur = view;
        }
        Ok(true)
    }

    /// Polls the store every `every` until the last handle to this registry is dropped.
    pub fn follow(&self, every: Duration) {
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = Registry(inner).reload().await {
                    tracing::warn!(error = %e, "exchange registry poll failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use cqs_domain::exchange::Status;
    use cqs_store::exchange::NewMember;

    #[tokio::test]
    async fn follows_changes_made_by_other_nodes() {
        let (nodes, _dir) = cqs_store::testing::sqlite_nodes(2).await;
        let reg = Registry::load(nodes[0].clone()).await.unwrap();
        reg.follow(Duration::from_millis(20));
        assert!(reg.view().members.is_empty());
        let id = MemberId::new("VN-LH", "GOV", "000.00.05.H99").unwrap();
        nodes[1]
            .upsert_member(&NewMember {
                id: id.clone(),
                name: "Sở Tư pháp".into(),
                org_unit_id: None,
                status: Status::Active,
                at: Utc::now(),
            })
            .await
            .unwrap();
        for _ in 0..100 {
            if reg.view().members.contains_key(&id) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the change on the other node was not picked up");
    }
}
