/**
 * One mesh per room and server, however many features use it: a voice channel's
 * call and its text chat ride on the same trystero room (web/net/mesh.ts refuses a
 * second join of a room on one connection). Each user of a room gets a handle whose
 * `leave()` only lets go; the room is left when the last handle is.
 */
import type { MeshOptions } from '../net/mesh.ts';

interface Leavable {
  leave(): Promise<void>;
}

export class MeshRooms {
  private readonly rooms = new Map<string, { mesh: Leavable; holders: number }>();

  /** `join` made to share: the first call for a room joins it, later ones share it. */
  share<M extends Leavable>(join: (options: MeshOptions) => M): (options: MeshOptions) => M {
    return (options) => {
      let held = this.rooms.get(options.room);
      if (!held) this.rooms.set(options.room, (held = { mesh: join(options), holders: 0 }));
      held.holders++;
      const room = held;
      let released = false;
      return {
        ...(room.mesh as M),
        leave: async () => {
          if (released) return;
          released = true;
          if (--room.holders > 0) return;
          if (this.rooms.get(options.room) === room) this.rooms.delete(options.room);
          await room.mesh.leave();
        },
      };
    };
  }

  /** Rooms held now (tests). */
  held(): string[] {
    return [...this.rooms.keys()];
  }
}
