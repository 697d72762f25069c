#include "core/forward/timeout_lists.h"

namespace ringlb {

uint32_t TimeoutLists::list_for(int64_t timeout_ms) noexcept {
    for (uint32_t i = 0; i < lists_.size(); ++i)
        if (lists_[i].timeout_ms == timeout_ms) return i;
    lists_.push_back(List{timeout_ms});
    return uint32_t(lists_.size() - 1);
}

void TimeoutLists::unlink(uint32_t slot) noexcept {
    Link& link = links_[slot];
    List& list = lists_[link.list];
    if (link.prev != kNone) links_[link.prev].next = link.next; else list.head = link.next;
    if (link.next != kNone) links_[link.next].prev = link.prev; else list.tail = link.prev;
    link.prev = link.next = kNone;
    link.list = kNone;
}

void TimeoutLists::push_back(uint32_t slot, uint32_t list_index) noexcept {
    Link& link = links_[slot];
    List& list = lists_[list_index];
    link.list = list_index;
    link.prev = list.tail;
    link.next = kNone;
    if (list.tail != kNone) links_[list.tail].next = slot; else list.head = slot;
    list.tail = slot;
}

void TimeoutLists::arm(uint32_t slot, int64_t timeout_ms, int64_t now_ms) noexcept {
    if (slot >= links_.size()) links_.resize(slot + 1);
    if (links_[slot].list != kNone) unlink(slot);
    links_[slot].last_ms = now_ms;
    push_back(slot, list_for(timeout_ms));
}

void TimeoutLists::touch(uint32_t slot, int64_t now_ms) noexcept {
    if (!armed(slot)) return;
    Link& link = links_[slot];
    if (link.last_ms == now_ms) return;  // already the newest at this time
    uint32_t list = link.list;
    link.last_ms = now_ms;
    if (lists_[list].tail == slot) return;
    unlink(slot);
    push_back(slot, list);
}

void TimeoutLists::disarm(uint32_t slot) noexcept {
    if (armed(slot)) unlink(slot);
}

void TimeoutLists::collect_expired(int64_t now_ms, std::vector<uint32_t>& out) noexcept {
    for (List& list : lists_) {
        while (list.head != kNone && links_[list.head].last_ms + list.timeout_ms <= now_ms) {
            uint32_t slot = list.head;
            unlink(slot);
            out.push_back(slot);
        }
    }
}

}  // namespace ringlb
