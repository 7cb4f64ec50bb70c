// Answers the policy-group requests of faces (protocol/group-requests.ts).
import type { GroupRequest } from '../protocol/group-requests.js';
import type { PolicyManager } from './manager.js';

export function handleGroupRequest(manager: PolicyManager, req: GroupRequest): Promise<unknown> {
  switch (req.op) {
    case 'up': return manager.up(req.paths, req.groups, req.autostart ?? false);
    case 'down': return manager.down(req.groups);
    case 'reload': return manager.reload();
    case 'notify':
      if (req.ready) manager.notify(req.group);
      return Promise.resolve({ group: req.group });
    case 'service': return manager.service(req.script, req.action);
  }
}
