//! A peer's outbound queue, bounded in bytes: whatever a peer asks for and whatever is relayed
//! to it, a node holds at most [`OUTBOUND_BYTES`] of messages for it. Each queued frame holds
//! permits for its bytes until the writer has passed it to the socket.

use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Bytes of messages queued for one peer at most: two of the largest messages.
pub const OUTBOUND_BYTES: usize = 2 * ferro_shared::p2p::MAX_MESSAGE_BYTES;

/// The queue could not take the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// No room within the byte budget (in time, for a waiting send).
    NoRoom,
    /// The connection's writer is gone.
    Closed,
}

/// The sending side, shared by the connection's reader and the peer manager. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbound {
    frames: mpsc::UnboundedSender<(Bytes, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
    capacity: usize,
}

/// The writer's side.
#[derive(Debug)]
pub struct Queue {
    frames: mpsc::UnboundedReceiver<(Bytes, OwnedSemaphorePermit)>,
}

/// A queue of at most `capacity` bytes.
pub fn queue(capacity: usize) -> (Outbound, Queue) {
    let (frames, rx) = mpsc::unbounded_channel();
    (Outbound { frames, budget: Arc::new(Semaphore::new(capacity)), capacity }, Queue { frames: rx })
}

impl Outbound {
    /// Bytes queued now.
    pub fn queued(&self) -> usize {
        self.capacity - self.budget.available_permits()
    }

    /// Queues `frame` if there is room now.
    pub fn try_send(&self, frame: Bytes) -> Result<(), Full> {
        let permit =
            self.budget.clone().try_acquire_many_owned(self.cost(&frame)).map_err(|_| Full::NoRoom)?;
        self.frames.send((frame, permit)).map_err(|_| Full::Closed)
    }

    /// Queues `frame`, waiting up to `timeout` for room.
    pub async fn send(&self, frame: Bytes, timeout: Duration) -> Result<(), Full> {
        let cost = self.cost(&frame);
        let permit = match tokio::time::timeout(timeout, self.budget.clone().acquire_many_owned(cost)).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Full::Closed),
            Err(_) => return Err(Full::NoRoom),
        };
        self.frames.send((frame, permit)).map_err(|_| Full::Closed)
    }

    /// Permits a frame holds: its bytes, at least one, and never more than the whole budget
    /// (a frame is at most one message, which the budget always fits).
    fn cost(&self, frame: &Bytes) -> u32 {
        frame.len().clamp(1, self.capacity) as u32
    }
}

impl Queue {
    /// The next frame to write, with the permit to drop once it is written.
    pub async fn next(&mut self) -> Option<(Bytes, OwnedSemaphorePermit)> {
        self.frames.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_are_bounded_and_freed_when_written() {
        let (out, mut queue) = queue(100);
        out.try_send(Bytes::from(vec![0; 60])).unwrap();
        assert_eq!(out.queued(), 60);
        // No room for 50 more: refused at once, or after waiting.
        assert_eq!(out.try_send(Bytes::from(vec![0; 50])), Err(Full::NoRoom));
        assert_eq!(out.send(Bytes::from(vec![0; 50]), Duration::from_millis(20)).await, Err(Full::NoRoom));
        out.try_send(Bytes::from(vec![0; 40])).unwrap();
        assert_eq!(out.queued(), 100);
        // Writing one frees its bytes.
        let (frame, permit) = queue.next().await.unwrap();
        assert_eq!(frame.len(), 60);
        drop(permit);
        assert_eq!(out.queued(), 40);
        out.send(Bytes::from(vec![0; 50]), Duration::from_millis(20)).await.unwrap();
        // A waiting send completes as soon as the writer makes room.
        let waiting = tokio::spawn({
            let out = out.clone();
            async move { out.send(Bytes::from(vec![0; 30]), Duration::from_secs(5)).await }
        });
        tokio::task::yield_now().await;
        drop(queue.next().await.unwrap());
        assert_eq!(waiting.await.unwrap(), Ok(()));
        // The writer gone: closed.
        drop(queue);
        assert_eq!(out.try_send(Bytes::from_static(b"x")), Err(Full::Closed));
    }
}
