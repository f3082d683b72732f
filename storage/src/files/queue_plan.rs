//! Reading a host's own queue file best first (see [`crate::record::queue_order`]).
//!
//! A queue file is in discovery order, and its entries' orders interleave: the first
//! link of each page of a depth is spread over the whole stretch of that depth. A
//! host's *plan* keeps, for each order its file holds, where the next entry of that
//! order not read yet may be and how many are left (never fewer than there are), so
//! that taking the best entries reads each order's stretch of the file about once,
//! instead of the whole file at every refill.
//!
//! A plan is built by one pass over the file from the host's cursor, the first time
//! the host's queue is read in order in this process, and kept up to date by appends
//! ([`Plans::appended`]). It lives in memory only: after a restart the first read
//! builds it again from the durable cursor, so the order survives a kill.
//!
//! Appends and reads run on different threads, and a read does not hold the plan
//! while it reads the file: it notes what it examined and subtracts that from what
//! the plan says when it is done, so an append counted during a read is never lost.
//! What can happen is a count too high (an entry both found by the read and counted
//! by its append); it costs one read to the end of the file, which then corrects it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::record::QueueEntry;
use crate::StoreError;

/// A host's file read from an offset.
pub(crate) trait EntryReader {
    /// The next entry; `None` at the end.
    fn next_entry(&mut self) -> Result<Option<QueueEntry>, StoreError>;
    /// Where the next entry starts.
    fn offset(&self) -> u64;
}

/// One order's place in a host's file.
#[derive(Clone, Copy, Debug, Default)]
struct OrderScan {
    /// Every entry of this order before this offset was read (taken or found settled).
    next: u64,
    /// Entries of this order from `next` on, at least.
    left: u64,
}

/// A host's plan: its orders, best first.
#[derive(Default)]
struct Plan {
    orders: BTreeMap<u64, OrderScan>,
}

/// The plans of the hosts read in order so far (hosts with files of their own: the
/// few big ones).
#[derive(Default)]
pub(crate) struct Plans {
    by_host: Mutex<HashMap<String, Plan>>,
}

impl Plans {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Plan>> {
        // Plain numbers, whole after a panic elsewhere.
        self.by_host.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Entries of these orders were appended to `host`'s file at `offset` or after.
    pub(crate) fn appended(&self, host: &str, offset: u64, orders: impl IntoIterator<Item = u64>) {
        let mut plans = self.lock();
        let Some(plan) = plans.get_mut(host) else {
            return;
        };
        for order in orders {
            let scan = plan.orders.entry(order).or_insert(OrderScan {
                next: offset,
                left: 0,
            });
            scan.next = scan.next.min(offset);
            scan.left += 1;
        }
    }

    /// Forgets every plan (the files were removed or rewritten).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Forgets `host`'s plan.
    pub(crate) fn forget(&self, host: &str) {
        self.lock().remove(host);
    }

    /// The first `limit` entries of `host` by order (discovery order within one), not
    /// `settled` and without duplicates, and where the host's cursor may move to: every
    /// entry before it was read by an earlier call. Call it only when every entry an
    /// earlier call returned is settled; `open` reads the host's file from an offset.
    pub(crate) fn take<R: EntryReader>(
        &self,
        host: &str,
        cursor: u64,
        limit: usize,
        open: impl Fn(u64) -> Result<R, StoreError>,
        settled: impl Fn(&QueueEntry) -> Result<bool, StoreError>,
    ) -> Result<(Vec<QueueEntry>, Option<u64>), StoreError> {
        if !self.lock().contains_key(host) {
            self.build(host, open(cursor)?)?;
        }
        let (orders, read_to) = {
            let mut plans = self.lock();
            let plan = plans.entry(host.to_owned()).or_default();
            plan.orders.retain(|_, scan| scan.left > 0);
            let orders: Vec<(u64, OrderScan)> =
                plan.orders.iter().map(|(&o, &scan)| (o, scan)).collect();
            let read_to = orders.iter().map(|(_, scan)| scan.next).min();
            (orders, read_to)
        };
        let mut taken = Vec::new();
        let mut urls = HashSet::new();
        for (order, planned) in orders {
            if taken.len() >= limit {
                break;
            }
            let mut reader = open(planned.next)?;
            let mut examined = 0;
            let mut at_end = false;
            while taken.len() < limit && examined < planned.left {
                let Some(entry) = reader.next_entry()? else {
                    at_end = true;
                    break;
                };
                if entry.order() != order {
                    continue;
                }
                examined += 1;
                if !settled(&entry)? && urls.insert(entry.url.clone()) {
                    taken.push(entry);
                }
            }
            let mut plans = self.lock();
            if let Some(scan) = plans
                .get_mut(host)
                .and_then(|plan| plan.orders.get_mut(&order))
            {
                scan.next = scan.next.max(reader.offset());
                // At the end, all that is left is what appends counted meanwhile.
                let spent = if at_end { planned.left } else { examined };
                scan.left = scan.left.saturating_sub(spent);
            }
        }
        Ok((taken, read_to.filter(|&to| to > cursor)))
    }

    /// Builds `host`'s plan with one pass of `reader` (from the host's cursor).
    fn build(&self, host: &str, mut reader: impl EntryReader) -> Result<(), StoreError> {
        // Inserted first, so that what is appended during the pass is counted.
        self.lock().entry(host.to_owned()).or_default();
        let mut found: BTreeMap<u64, OrderScan> = BTreeMap::new();
        loop {
            let at = reader.offset();
            let Some(entry) = reader.next_entry()? else {
                break;
            };
            let scan = found
                .entry(entry.order())
                .or_insert(OrderScan { next: at, left: 0 });
            scan.left += 1;
        }
        let mut plans = self.lock();
        let plan = plans.entry(host.to_owned()).or_default();
        for (order, scan) in found {
            let known = plan.orders.entry(order).or_insert(OrderScan {
                next: scan.next,
                left: 0,
            });
            known.next = known.next.min(scan.next);
            known.left += scan.left;
        }
        Ok(())
    }
}
