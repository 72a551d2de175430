/** The platform-update agent's endpoints and events. Every command answers with the UpdateStatus. */
import { command, event } from '../catalog.js';
import {
  AbortRequestSchema,
  CommitRequestSchema,
  DownloadRequestSchema,
  InstallRequestSchema,
  ProgressSchema,
  RebootRequestSchema,
  RollbackRequestSchema,
  StateChangeSchema,
  StatusRequestSchema,
  UpdateStatusSchema,
} from '../gen/outpost/update/v1/update_pb.js';

export const UpdateApi = {
  agent: 'update',
  cmd: {
    download: command(
      'update',
      'download',
      DownloadRequestSchema,
      UpdateStatusSchema,
      'Verifies a signed manifest, then stages its image in the background (no slot is touched)',
    ),
    install: command(
      'update',
      'install',
      InstallRequestSchema,
      UpdateStatusSchema,
      'Writes the verified staged image to the inactive slot and makes it the next boot (background)',
    ),
    status: command('update', 'status', StatusRequestSchema, UpdateStatusSchema, 'The update state now'),
    abort: command(
      'update',
      'abort',
      AbortRequestSchema,
      UpdateStatusSchema,
      'Stops a download or install, or undoes an installed update before its reboot',
    ),
    reboot: command(
      'update',
      'reboot',
      RebootRequestSchema,
      UpdateStatusSchema,
      'Reboots into the installed slot (requires INSTALLED)',
    ),
    commit: command(
      'update',
      'commit',
      CommitRequestSchema,
      UpdateStatusSchema,
      'Makes the booted new slot permanent: blesses its entry and makes it the default (requires VERIFYING)',
    ),
    rollback: command(
      'update',
      'rollback',
      RollbackRequestSchema,
      UpdateStatusSchema,
      'Marks the new slot bad and reboots into the previous one (requires VERIFYING)',
    ),
  },
  evt: {
    state: event('update', 'state', StateChangeSchema, 'Published at every state transition'),
    progress: event(
      'update',
      'progress',
      ProgressSchema,
      'Download and install progress: bytes, rate, ETA (throttled)',
    ),
  },
} as const;
