import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { AlertCenter } from './lib/alert-center.js';
import { registry } from './lib/registry.js';
import { StreamClient } from './lib/stream-client.js';
import './styles.css';

const client = new StreamClient();
const alerts = new AlertCenter(client);
registry.client = client;
registry.alerts = alerts;

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App client={client} alerts={alerts} />
  </StrictMode>,
);
