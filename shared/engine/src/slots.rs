//! How many runs a worker executes at once, so one shop cannot stall the others: at most
//! `global` runs per process (a Lambda invocation, or the local worker), and at most
//! `per_tenant` of them of one tenant. A run first takes a slot of its tenant, then one of
//! the process; a tenant whose runs all wait on a slow receiver holds its own slots only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use kassa_domain::tenant::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bounds of a worker's concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Runs one process executes at once.
    pub global: usize,
    /// Runs of one tenant among them.
    pub per_tenant: usize,
}

impl Default for Limits {
    /// 16 runs at once, at most 4 of one tenant: a tenant with every run stuck on a silent
    /// webhook leaves 12 slots to the others.
    fn default() -> Self {
        Limits { global: 16, per_tenant: 4 }
    }
}

pub(crate) struct Slots {
    limits: Limits,
    global: Arc<Semaphore>,
    /// One semaphore per tenant with runs executing or waiting; dropped when unused.
    tenants: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

/// One of a tenant's slots; gives it back when dropped.
pub(crate) struct TenantSlot {
    permit: Option<OwnedSemaphorePermit>,
    tenant: TenantId,
    slots: Arc<Slots>,
}

/// A tenant's slot and a slot of the process: the right to execute a run now.
pub(crate) struct Slot {
    _global: OwnedSemaphorePermit,
    _tenant: TenantSlot,
}

impl Slots {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        let limits = Limits { global: limits.global.max(1), per_tenant: limits.per_tenant.max(1) };
        Arc::new(Slots {
            limits,
            global: Arc::new(Semaphore::new(limits.global)),
            tenants: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    fn map(&self) -> MutexGuard<'_, HashMap<TenantId, Arc<Semaphore>>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.tenants.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn semaphore(&self, tenant: TenantId) -> Arc<Semaphore> {
        self.map().entry(tenant).or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_tenant))).clone()
    }

    /// Waits for a slot of `tenant` (`None` never happens: the semaphores are never closed).
    pub(crate) async fn tenant(self: &Arc<Self>, tenant: TenantId) -> Option<TenantSlot> {
        let permit = self.semaphore(tenant).acquire_owned().await.ok()?;
        Some(TenantSlot { permit: Some(permit), tenant, slots: self.clone() })
    }

    /// A slot of `tenant` if one is free now.
    pub(crate) fn try_tenant(self: &Arc<Self>, tenant: TenantId) -> Option<TenantSlot> {
        let permit = self.semaphore(tenant).try_acquire_owned().ok();
        match permit {
            Some(permit) => Some(TenantSlot { permit: Some(permit), tenant, slots: self.clone() }),
            None => {
                self.forget_if_unused(tenant);
                None
            }
        }
    }

    /// Waits for a slot of the process for a run that holds its tenant's slot.
    pub(crate) async fn global(&self, tenant: TenantSlot) -> Option<Slot> {
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(Slot { _global: global, _tenant: tenant })
    }

    /// Drops the tenant's semaphore if nobody holds or waits for it. Clones are only made
    /// under the map's lock, so a count of one (the map's) cannot grow meanwhile.
    fn forget_if_unused(&self, tenant: TenantId) {
        let mut map = self.map();
        if map.get(&tenant).is_some_and(|semaphore| Arc::strong_count(semaphore) == 1) {
            map.remove(&tenant);
        }
    }

    /// Tenants with a semaphore (tests: the map does not grow without bound).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.map().len()
    }
}

impl Drop for TenantSlot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.slots.forget_if_unused(self.tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::from(uuid::Uuid::now_v7())
    }

    #[tokio::test]
    async fn a_tenant_holds_at_most_its_share_and_the_others_still_get_slots() {
        let slots = Slots::new(Limits { global: 3, per_tenant: 2 });
        let (busy, other) = (tenant(), tenant());
        let first = slots.try_tenant(busy).unwrap();
        let second = slots.try_tenant(busy).unwrap();
        assert!(slots.try_tenant(busy).is_none(), "a third slot of the same tenant");
        let _running = [slots.global(first).await.unwrap(), slots.global(second).await.unwrap()];
        let theirs = slots.try_tenant(other).unwrap();
        assert!(slots.global(theirs).await.is_some(), "the other tenant runs at once");
    }

    #[tokio::test]
    async fn unused_tenants_are_forgotten() {
        let slots = Slots::new(Limits::default());
        let a = tenant();
        let slot = slots.tenant(a).await.unwrap();
        assert_eq!(slots.tracked(), 1);
        drop(slot);
        assert_eq!(slots.tracked(), 0);
        for _ in 0..4 {
            std::mem::forget(slots.try_tenant(a).unwrap());
        }
        assert!(slots.try_tenant(a).is_none());
        assert_eq!(slots.tracked(), 1, "a tenant with slots in use stays");
    }
}
